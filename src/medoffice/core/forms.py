"""Forms of the setup pages. They check the shape of the input; services check the rules.

Every form shows errors beside the field and, at the top, as "<field label>: <message>".
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django import forms

from medoffice.core.exceptions import MedofficeError
from medoffice.core.models import DecisionKind, Location, Practice, Provider, Role, User
from medoffice.core.money import ZERO, MoneyField

if TYPE_CHECKING:
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class ServiceErrorsMixin(_FormBase):
    """Put a service's error onto the form, beside the field it names."""

    def add_service_error(self, exc: MedofficeError) -> None:
        errors = getattr(exc, "errors", None) or {}
        if not errors:
            errors = {exc.field or "__all__": [exc.message]}
        for name, messages in errors.items():
            target = name if name in self.fields else None
            for message in messages:
                text = (
                    message.split(": ", 1)[1]
                    if target and message.startswith(f"{name}: ")
                    else message
                )
                self.add_error(target, text)

    def error_summary(self) -> list[str]:
        """Each error as "label: message", so the summary names the field."""
        lines = [str(error) for error in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name == "__all__":
                continue
            label = self.fields[name].label or name
            lines.extend(f"{label}: {error}" for error in errors)
        return lines


class SetupModelForm(ServiceErrorsMixin, forms.ModelForm):
    """A ModelForm for its widgets and labels only: the service validates and saves."""

    def _post_clean(self):  # model validation runs once, in the service's transaction
        pass


class PracticeForm(SetupModelForm):
    tax_id = forms.CharField(
        label="tax id (EIN)",
        required=False,
        max_length=10,
        help_text="Leave blank to keep the one on file.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    class Meta:
        model = Practice
        fields = [
            "legal_name", "tax_id", "group_npi", "phone", "address_line1", "address_line2",
            "city", "state", "zip_code", "pay_to_address_line1", "pay_to_address_line2",
            "pay_to_city", "pay_to_state", "pay_to_zip_code", "time_zone", "require_two_factor",
        ]  # fmt: skip
        help_texts = {
            "pay_to_address_line1": "Where payers send payments when it is not the address "
            "above (a lockbox or PO box). Leave the pay-to lines blank otherwise.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["tax_id"] = ""  # never sent back to the browser
        if self.instance.pk and self.instance.tax_id:
            self.fields[
                "tax_id"
            ].help_text = f"On file: {self.instance.tax_id_masked}. Leave blank to keep it."
        else:
            self.fields["tax_id"].required = True
            self.fields["tax_id"].help_text = "Format 12-3456789."


class LocationForm(SetupModelForm):
    class Meta:
        model = Location
        fields = [
            "name", "phone", "place_of_service", "address_line1", "address_line2", "city",
            "state", "zip_code",
        ]  # fmt: skip


class ProviderForm(SetupModelForm):
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="clinician user",
        help_text="The staff account of this provider (own schedule, signing encounters).",
    )

    class Meta:
        model = Provider
        fields = [
            "first_name", "last_name", "credentials", "npi", "taxonomy", "specialty", "locations",
            "user",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locations = Location.objects.filter(is_active=True)
        users = User.objects.filter(is_active=True, roles__code__in=("clinician", "owner"))
        if self.instance.pk:
            locations = Location.objects.filter(is_active=True) | self.instance.locations.all()
            if self.instance.user_id:
                users = users | User.objects.filter(pk=self.instance.user_id)
        self.fields["locations"].queryset = locations.distinct()
        self.fields["user"].queryset = users.distinct().order_by("last_name", "first_name")


def role_choices() -> list[tuple[str, str]]:
    return [(role.code, role.name) for role in Role.objects.order_by("name")]


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=role_choices, label="roles", **kwargs)


class UserCreateForm(ServiceErrorsMixin, forms.Form):
    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    first_name = forms.CharField(label="first name", max_length=150)
    last_name = forms.CharField(label="last name", max_length=150)
    email = forms.EmailField(required=False)
    title = forms.CharField(required=False, max_length=80, help_text="Job title, e.g. Billing lead")
    roles = RolesField()
    password = forms.CharField(
        label="first password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; tell it to them privately.",
    )


class UserProfileForm(SetupModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "title"]


class UserRolesForm(ServiceErrorsMixin, forms.Form):
    roles = RolesField()


class PasswordResetForm(ServiceErrorsMixin, forms.Form):
    current_password = forms.CharField(
        label="your current password",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    password = forms.CharField(
        label="new password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Their sessions and API tokens end; they sign in with this password.",
    )

    def __init__(self, *args, is_self: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not is_self:  # only changing one's own password asks for the current one
            del self.fields["current_password"]


class AuthorityLimitsForm(ServiceErrorsMixin, forms.Form):
    """One amount per role and kind; blank means no limit, 0 means no authority."""

    def __init__(self, *args, roles, limits: dict[tuple[str, str], Decimal | None], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for role in roles:
            cells = []
            for kind, kind_label in DecisionKind.choices:
                name = f"{role.code}.{kind}"
                amount = limits.get((role.code, kind), Decimal("0"))
                self.fields[name] = MoneyField(
                    label=f"{role.name}, {kind_label.lower()}",
                    required=False,
                    minimum=ZERO,
                    initial=amount,
                    widget=forms.TextInput(
                        attrs={"inputmode": "decimal", "size": "10", "placeholder": "no limit"}
                    ),
                )
                cells.append(self[name])
            self.rows.append((role, cells))
        self.kinds = DecisionKind.choices

    def limits(self) -> dict[tuple[str, str], Decimal | None]:
        result = {}
        for name, value in self.cleaned_data.items():
            role_code, kind = name.split(".", 1)
            result[(role_code, kind)] = value
        return result
