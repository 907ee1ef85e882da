"""Admin: read-only views of appointments and their cells (only the services write them, so
the occupancy cells and the appointments stay in step); the setup tables are editable."""

from django.contrib import admin

from medoffice.core.admin import PhiReadAudited
from medoffice.scheduling.models import (
    Appointment,
    AppointmentType,
    Closure,
    Occupancy,
    RecurringSeries,
    Room,
    ScheduleTemplate,
    SchedulingSettings,
    TemplateBlock,
    WaitlistEntry,
    WaitlistOffer,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "location", "kind", "is_active")
    list_filter = ("location", "kind", "is_active")


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "duration_minutes", "is_active")
    filter_horizontal = ("providers", "rooms")


class TemplateBlockInline(admin.TabularInline):
    model = TemplateBlock
    extra = 0
    filter_horizontal = ("appointment_types",)


@admin.register(ScheduleTemplate)
class ScheduleTemplateAdmin(admin.ModelAdmin):
    list_display = ("provider", "location", "name", "valid_from", "valid_to", "is_active")
    list_filter = ("location", "is_active")
    inlines = [TemplateBlockInline]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = (
        "scope",
        "location",
        "provider",
        "start_date",
        "end_date",
        "start_time",
        "end_time",
        "reason",
    )
    list_filter = ("scope",)


@admin.register(SchedulingSettings)
class SchedulingSettingsAdmin(admin.ModelAdmin):
    list_display = ("observe_federal_holidays", "slot_step_minutes")


@admin.register(Appointment)
class AppointmentAdmin(PhiReadAudited, ReadOnlyAdmin):
    list_display = ("start", "end", "provider", "location", "appointment_type", "patient", "status")
    list_filter = ("status", "location", "appointment_type")
    date_hierarchy = "start"
    list_select_related = ("provider", "location", "appointment_type", "patient")
    raw_id_fields = ("patient",)


@admin.register(Occupancy)
class OccupancyAdmin(ReadOnlyAdmin):
    list_display = ("appointment", "provider", "room", "cell")
    raw_id_fields = ("appointment",)


@admin.register(RecurringSeries)
class RecurringSeriesAdmin(PhiReadAudited, ReadOnlyAdmin):
    list_display = ("patient", "provider", "appointment_type", "rrule", "first_start", "policy")
    raw_id_fields = ("patient",)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(PhiReadAudited, ReadOnlyAdmin):
    list_display = (
        "patient",
        "appointment_type",
        "priority",
        "status",
        "earliest_date",
        "latest_date",
    )
    list_filter = ("status",)
    raw_id_fields = ("patient",)


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(PhiReadAudited, ReadOnlyAdmin):
    list_display = ("entry", "start", "provider", "status", "offered_at")
    list_filter = ("status",)
