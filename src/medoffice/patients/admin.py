"""Admin: read-mostly views for support; changes go through the pages and services."""

from django.contrib import admin

from medoffice.core.admin import PhiReadAudited
from medoffice.core.money import ADMIN_OVERRIDES
from medoffice.patients.models import (
    Authorization,
    Coverage,
    EligibilityCheck,
    Patient,
    PatientDocument,
    Payer,
)


@admin.register(Payer)
class PayerAdmin(admin.ModelAdmin):
    list_display = ("name", "payer_id", "plan_type", "timely_filing_days", "is_active")
    list_filter = ("plan_type", "is_active")
    search_fields = ("name", "payer_id")


@admin.register(Patient)
class PatientAdmin(PhiReadAudited, admin.ModelAdmin):
    list_display = ("mrn", "last_name", "first_name", "date_of_birth", "is_active")
    search_fields = ("mrn", "last_name_key", "first_name_key")
    list_filter = ("is_active",)
    raw_id_fields = ("guarantor_patient", "merged_into")
    readonly_fields = ("mrn", "merged_into", "merged_at")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Coverage)
class CoverageAdmin(PhiReadAudited, admin.ModelAdmin):
    formfield_overrides = ADMIN_OVERRIDES  # copays through the one money parser
    list_display = ("patient", "payer", "priority", "effective_date", "end_date", "is_active")
    raw_id_fields = ("patient",)
    list_select_related = ("patient", "payer")


@admin.register(EligibilityCheck)
class EligibilityCheckAdmin(PhiReadAudited, admin.ModelAdmin):
    formfield_overrides = ADMIN_OVERRIDES
    list_display = ("coverage", "checked_at", "method", "status")
    raw_id_fields = ("coverage",)


@admin.register(Authorization)
class AuthorizationAdmin(PhiReadAudited, admin.ModelAdmin):
    list_display = ("patient", "kind", "number", "valid_from", "valid_to", "visits_used")
    raw_id_fields = ("patient", "coverage")


@admin.register(PatientDocument)
class PatientDocumentAdmin(PhiReadAudited, admin.ModelAdmin):
    list_display = ("patient", "kind", "document_date", "uploaded_at")
    raw_id_fields = ("patient",)
    exclude = ("file",)
