"""Admin: the forms the desk collects are editable; visits, signatures and payments are
read-only here (only the services write them, so receipts stay numbered and audited)."""

from django.contrib import admin

from medoffice.core.admin import PhiReadAudited
from medoffice.reception.models import FormType, Payment, ReceiptSequence, SignedForm, Visit


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FormType)
class FormTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "renew_every_days", "order", "is_active")
    list_filter = ("is_active",)


@admin.register(Visit)
class VisitAdmin(PhiReadAudited, ReadOnlyAdmin):
    list_display = ("pk", "appointment", "stage", "arrived_at", "checked_out_at", "room")
    list_filter = ("stage",)
    raw_id_fields = ("appointment", "patient", "coverage", "eligibility_check")


@admin.register(SignedForm)
class SignedFormAdmin(PhiReadAudited, ReadOnlyAdmin):
    list_display = ("form_type", "patient", "signed_at", "recorded_by")
    list_filter = ("form_type",)
    raw_id_fields = ("patient", "visit")


@admin.register(Payment)
class PaymentAdmin(PhiReadAudited, ReadOnlyAdmin):
    list_display = ("receipt_number", "patient", "amount", "method", "received_at", "received_by")
    list_filter = ("method",)
    search_fields = ("receipt_number",)
    raw_id_fields = ("patient", "visit")


@admin.register(ReceiptSequence)
class ReceiptSequenceAdmin(ReadOnlyAdmin):
    list_display = ("year", "last_number")
