"""Forms of the patient pages: they render fields and parse types; services hold the rules."""

from __future__ import annotations

from django import forms

from medoffice.core.money import ZERO, MoneyField
from medoffice.patients.models import (
    Authorization,
    Coverage,
    DocumentKind,
    EligibilityStatus,
    Patient,
    Payer,
)
from medoffice.patients.services import DOCUMENT_TYPES, max_document_bytes

DATE_INPUT = {"placeholder": "MM/DD/YYYY", "inputmode": "numeric", "autocomplete": "off"}

PATIENT_FORM_FIELDS = [
    "first_name", "middle_name", "last_name", "suffix", "preferred_name", "date_of_birth", "sex",
    "phone", "phone_type", "email", "contact_by_sms", "contact_by_email", "preferred_language",
    "interpreter_needed", "address_line1", "address_line2", "city", "state", "zip_code",
    "emergency_contact_name", "emergency_contact_relationship", "emergency_contact_phone",
    "guarantor_relationship", "guarantor_first_name", "guarantor_last_name",
    "guarantor_date_of_birth", "guarantor_phone", "guarantor_address", "notes",
]  # fmt: skip


def _text_dates(form: forms.Form, *names: str) -> None:
    """Dates are typed as text so every common format works; the service parses them."""
    for name in names:
        field = form.fields[name]
        form.fields[name] = forms.CharField(
            label=field.label, required=field.required, widget=forms.TextInput(attrs=DATE_INPUT),
            help_text="e.g. 03/14/1980",
        )  # fmt: skip


class PatientForm(forms.Form):
    required_css_class = "required"  # the label shows the mark (base stylesheet)
    guarantor_mrn = forms.CharField(
        label="Guarantor's MRN", required=False, help_text="when the guarantor is also a patient"
    )
    confirm_not_duplicate = forms.BooleanField(
        required=False, label="I checked the possible matches: this is a different person"
    )

    def __init__(self, *args, initial_patient: Patient | None = None, **kwargs):
        if initial_patient is not None:
            initial = forms.model_to_dict(initial_patient, fields=PATIENT_FORM_FIELDS)
            initial["date_of_birth"] = initial_patient.date_of_birth.strftime("%m/%d/%Y")
            if initial_patient.guarantor_date_of_birth:
                initial["guarantor_date_of_birth"] = (
                    initial_patient.guarantor_date_of_birth.strftime("%m/%d/%Y")
                )
            initial["phone"] = initial_patient.phone_display
            if initial_patient.guarantor_patient_id:
                initial["guarantor_mrn"] = initial_patient.guarantor_patient.mrn
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        model_fields = forms.fields_for_model(Patient, fields=PATIENT_FORM_FIELDS)
        self.fields = {**model_fields, **self.fields}
        _text_dates(self, "date_of_birth", "guarantor_date_of_birth")
        self.fields["phone"].help_text = "any format, e.g. (312) 555-0142"
        self.fields["phone"].widget.attrs.update({"type": "tel", "autocomplete": "off"})
        for name in ("emergency_contact_phone", "guarantor_phone"):
            self.fields[name].widget.attrs["type"] = "tel"
            self.fields[name].help_text = "any format"
        self.fields["notes"].widget.attrs["rows"] = 3
        self.fields["state"].widget.attrs.update({"size": 3, "maxlength": 2})

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in PATIENT_FORM_FIELDS}
        data["guarantor_patient"] = self.cleaned_data.get("guarantor_patient")
        return data

    def clean(self):
        cleaned = super().clean()
        mrn = (cleaned.get("guarantor_mrn") or "").strip()
        cleaned["guarantor_patient"] = None
        if mrn:
            found = Patient.objects.filter(mrn__iexact=mrn, is_active=True).only("pk").first()
            if found is None:
                self.add_error("guarantor_mrn", "No active patient has this MRN.")
            else:
                cleaned["guarantor_patient"] = found.pk
        return cleaned


class CoverageForm(forms.ModelForm):
    required_css_class = "required"
    copay = MoneyField(minimum=ZERO, required=False, label="Office visit copay")
    specialist_copay = MoneyField(minimum=ZERO, required=False, label="Specialist copay")
    replace_existing = forms.BooleanField(
        required=False,
        label="Replace the current coverage at this priority",
        help_text="ends it the day before this one starts",
    )

    class Meta:
        model = Coverage
        fields = [
            "payer", "plan_name", "member_id", "group_number", "priority", "effective_date",
            "end_date", "copay", "specialist_copay", "subscriber_relationship",
            "subscriber_first_name", "subscriber_last_name", "subscriber_date_of_birth",
            "subscriber_sex",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = Payer.objects.filter(is_active=True).order_by("name")
        _text_dates(self, "effective_date", "end_date", "subscriber_date_of_birth")
        if self.instance.pk:
            for name in ("effective_date", "end_date", "subscriber_date_of_birth"):
                value = getattr(self.instance, name)
                self.initial[name] = value.strftime("%m/%d/%Y") if value else ""
            del self.fields["replace_existing"]

    def _post_clean(self):
        """Model validation is the service's job (it also checks overlaps)."""

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        data["copay"] = data["copay"] if data["copay"] is not None else "0"
        data["specialist_copay"] = (
            data["specialist_copay"] if data["specialist_copay"] is not None else "0"
        )
        return data


class CoverageEndForm(forms.Form):
    end_date = forms.CharField(
        label="Last day of coverage", widget=forms.TextInput(attrs=DATE_INPUT)
    )


class EligibilityForm(forms.Form):
    status = forms.ChoiceField(choices=EligibilityStatus.choices)
    service_date = forms.CharField(
        label="For date of service", required=False, widget=forms.TextInput(attrs=DATE_INPUT),
        help_text="empty: today",
    )  # fmt: skip
    reference = forms.CharField(required=False, max_length=60, label="Call reference")
    copay_reported = MoneyField(minimum=ZERO, required=False, label="Copay the payer quoted")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AuthorizationForm(forms.ModelForm):
    class Meta:
        model = Authorization
        fields = [
            "kind", "coverage", "number", "referring_provider_name", "referring_provider_npi",
            "valid_from", "valid_to", "visits_allowed", "visits_used", "notes",
        ]  # fmt: skip

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coverage"].queryset = Coverage.objects.filter(
            patient=patient, is_active=True
        ).select_related("payer")
        _text_dates(self, "valid_from", "valid_to")
        if self.instance.pk:
            for name in ("valid_from", "valid_to"):
                self.initial[name] = getattr(self.instance, name).strftime("%m/%d/%Y")
        self.fields["notes"].widget.attrs["rows"] = 2

    def _post_clean(self):
        """Model validation is the service's job."""

    def service_fields(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentKind.choices)
    file = forms.FileField(
        help_text=f"PDF, JPEG, PNG or TIFF, at most {max_document_bytes() // 1048576} MB",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ",".join(["." + ext for exts in DOCUMENT_TYPES.values() for ext in exts])
            }
        ),
    )
    document_date = forms.CharField(
        label="Date on the document", required=False, widget=forms.TextInput(attrs=DATE_INPUT),
        help_text="empty: today",
    )  # fmt: skip
    description = forms.CharField(required=False, max_length=200)


class PayerForm(forms.ModelForm):
    class Meta:
        model = Payer
        fields = [
            "name", "payer_id", "plan_type", "timely_filing_days", "requires_referral", "phone",
            "address_line1", "address_line2", "city", "state", "zip_code", "is_active",
        ]  # fmt: skip

    def _post_clean(self):
        """Model validation is the service's job."""


class MergeForm(forms.Form):
    survivor = forms.CharField(label="Keep this record (MRN)", max_length=20)
    duplicate = forms.CharField(label="Merge this duplicate into it (MRN)", max_length=20)
    reason = forms.CharField(required=False, max_length=300, label="Reason")
    confirm = forms.BooleanField(
        required=False, label="I compared both records; move everything to the kept record"
    )
