"""Forms of the scheduling pages: they parse and label input; the services decide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms
from django.utils import timezone

from medoffice.core.dates import DayField, day_in_range
from medoffice.core.models import Location, Provider
from medoffice.scheduling.models import (
    AppointmentType,
    BlockKind,
    ClosureScope,
    Room,
    ScheduleTemplate,
    SchedulingSettings,
    SeriesPolicy,
    WaitlistEntry,
    Weekday,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
TIME_INPUT = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")


def _active_types():
    return AppointmentType.objects.filter(is_active=True).order_by("name")


def _providers():
    return Provider.objects.filter(is_active=True).order_by("last_name", "first_name")


def _locations():
    return Location.objects.filter(is_active=True).order_by("name")


class SlotSearchForm(forms.Form):
    appointment_type = forms.ModelChoiceField(queryset=_active_types(), label="Appointment type")
    provider = forms.ModelChoiceField(
        queryset=_providers(), required=False, empty_label="Any provider"
    )
    location = forms.ModelChoiceField(
        queryset=_locations(), required=False, empty_label="Any location"
    )
    from_date = DayField(required=False, widget=DATE_INPUT, label="From")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = _active_types()
        self.fields["provider"].queryset = _providers()
        self.fields["location"].queryset = _locations()


class SlotChoice:
    """A slot chosen on the page, carried as "provider|location|start|room"."""

    def __init__(self, provider: Provider, location: Location, start: datetime, room: Room | None):
        self.provider, self.location, self.start, self.room = provider, location, start, room

    @staticmethod
    def encode(provider_id: int, location_id: int, start: datetime, room_id: int | None) -> str:
        return f"{provider_id}|{location_id}|{start.astimezone(UTC).isoformat()}|{room_id or ''}"

    @classmethod
    def decode(cls, value: str) -> SlotChoice:
        try:
            provider_id, location_id, start_text, room_id = value.split("|")
            start = datetime.fromisoformat(start_text)
            if timezone.is_naive(start) or not day_in_range(start):
                raise ValueError("naive or out of range")
            provider = Provider.objects.get(pk=int(provider_id))
            location = Location.objects.get(pk=int(location_id))
            room = Room.objects.get(pk=int(room_id)) if room_id else None
        except (ValueError, Provider.DoesNotExist, Location.DoesNotExist, Room.DoesNotExist):
            raise forms.ValidationError("Choose one of the free times listed.") from None
        return cls(provider, location, start, room)


class SlotField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        return SlotChoice.decode(value) if value else None


REPEAT_CHOICES = [
    ("", "Does not repeat"),
    ("weekly", "Every week"),
    ("biweekly", "Every 2 weeks"),
    ("every4", "Every 4 weeks"),
    ("monthly", "Every month (same date)"),
    ("custom", "Custom rule (RFC 5545 RRULE)"),
]
REPEAT_RULES = {
    "weekly": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "every4": "FREQ=WEEKLY;INTERVAL=4",
    "monthly": "FREQ=MONTHLY",
}


class BookForm(forms.Form):
    patient = forms.IntegerField(
        widget=forms.HiddenInput, error_messages={"required": "Choose the patient."}
    )
    appointment_type = forms.ModelChoiceField(queryset=_active_types())
    slot = SlotField(error_messages={"required": "Choose one of the free times."})
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    repeat = forms.ChoiceField(choices=REPEAT_CHOICES, required=False)
    repeat_count = forms.IntegerField(
        required=False, min_value=2, max_value=104, label="Number of appointments"
    )
    repeat_until = DayField(required=False, widget=DATE_INPUT, label="Or until")
    rrule = forms.CharField(
        required=False, max_length=300, label="Custom rule",
        help_text="e.g. FREQ=WEEKLY;BYDAY=TU,TH;COUNT=8",
    )  # fmt: skip
    policy = forms.ChoiceField(
        choices=SeriesPolicy.choices, initial=SeriesPolicy.ALL_OR_NOTHING, required=False,
        widget=forms.RadioSelect, label="If some dates are taken",
    )  # fmt: skip
    record_past = forms.BooleanField(
        required=False, label="This visit already happened (record it)",
        help_text="Office managers: enter a visit after the fact.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = _active_types()

    def clean(self):
        data = super().clean()
        repeat = data.get("repeat")
        if not repeat:
            data["rule"] = ""
            return data
        if repeat == "custom":
            if not data.get("rrule"):
                self.add_error("rrule", "Write the rule, or choose a simple repeat.")
            data["rule"] = data.get("rrule", "")
            return data
        count, until = data.get("repeat_count"), data.get("repeat_until")
        if not count and not until:
            self.add_error("repeat_count", "Say how many times, or until which date.")
            return data
        rule = REPEAT_RULES[repeat]
        rule += f";COUNT={count}" if count else f";UNTIL={until:%Y%m%d}T235959"
        data["rule"] = rule
        return data


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Reason for cancelling")
    scope = forms.ChoiceField(
        choices=[("one", "This appointment"), ("following", "This and the following ones")],
        initial="one", required=False, widget=forms.RadioSelect,
    )  # fmt: skip


class RescheduleForm(forms.Form):
    slot = SlotField(error_messages={"required": "Choose one of the free times."})
    scope = forms.ChoiceField(
        choices=[("one", "This appointment"), ("following", "This and the following ones")],
        initial="one", required=False, widget=forms.RadioSelect,
    )  # fmt: skip


class WaitlistForm(forms.ModelForm):
    patient_id = forms.IntegerField(
        widget=forms.HiddenInput, error_messages={"required": "Choose the patient."}
    )

    class Meta:
        model = WaitlistEntry
        fields = [
            "appointment_type", "provider", "location", "earliest_date", "latest_date",
            "priority", "notes",
        ]  # fmt: skip
        widgets = {"earliest_date": DATE_INPUT, "latest_date": DATE_INPUT}
        labels = {"earliest_date": "Earliest date", "latest_date": "Latest date"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = _active_types()
        self.fields["provider"].queryset = _providers()
        self.fields["provider"].empty_label = "Any provider"
        self.fields["location"].queryset = _locations()
        self.fields["location"].empty_label = "Any location"
        today = timezone.localdate()
        self.fields["earliest_date"].initial = today
        self.fields["latest_date"].initial = today + timedelta(days=30)


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["location", "name", "kind", "is_active"]


class AppointmentTypeForm(forms.ModelForm):
    class Meta:
        model = AppointmentType
        fields = [
            "name", "code", "duration_minutes", "color", "providers", "rooms",
            "requires_referral", "requires_prior_auth", "is_active",
        ]  # fmt: skip
        widgets = {
            "providers": forms.CheckboxSelectMultiple,
            "rooms": forms.CheckboxSelectMultiple,
            "color": forms.TextInput(attrs={"type": "color"}),
        }
        labels = {
            "duration_minutes": "Length (minutes)",
            "rooms": "Needs one of these rooms or equipment",
        }


class TemplateForm(forms.ModelForm):
    class Meta:
        model = ScheduleTemplate
        fields = ["provider", "location", "name", "valid_from", "valid_to", "is_active"]
        widgets = {"valid_from": DATE_INPUT, "valid_to": DATE_INPUT}


class BlockForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        choices=Weekday.choices, coerce=int, widget=forms.CheckboxSelectMultiple, label="Days"
    )
    start_time = forms.TimeField(widget=TIME_INPUT, label="From")
    end_time = forms.TimeField(widget=TIME_INPUT, label="To")
    kind = forms.ChoiceField(choices=BlockKind.choices, initial=BlockKind.WORK)
    appointment_types = forms.ModelMultipleChoiceField(
        queryset=_active_types(), required=False, widget=forms.CheckboxSelectMultiple,
        label="Only these appointment types (none ticked: all the provider offers)",
    )  # fmt: skip
    note = forms.CharField(max_length=120, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_types"].queryset = _active_types()


class ClosureForm(forms.Form):
    scope = forms.ChoiceField(choices=ClosureScope.choices, label="Who is closed")
    location = forms.ModelChoiceField(queryset=_locations(), required=False)
    provider = forms.ModelChoiceField(queryset=_providers(), required=False)
    start_date = DayField(widget=DATE_INPUT, label="First day")
    end_date = DayField(widget=DATE_INPUT, label="Last day", required=False)
    start_time = forms.TimeField(widget=TIME_INPUT, required=False, label="From (part of the day)")
    end_time = forms.TimeField(widget=TIME_INPUT, required=False, label="To")
    reason = forms.CharField(max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = _locations()
        self.fields["provider"].queryset = _providers()

    def clean(self):
        data = super().clean()
        if data.get("start_date") and not data.get("end_date"):
            data["end_date"] = data["start_date"]
        return data


class SettingsForm(forms.ModelForm):
    class Meta:
        model = SchedulingSettings
        fields = ["observe_federal_holidays", "open_on_holidays", "slot_step_minutes"]
