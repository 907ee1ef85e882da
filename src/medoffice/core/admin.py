"""The Django admin (/django-admin/) for superusers only: a repair tool, not the way staff work.

The audit trail is read-only here as everywhere: no add, change or delete, not even for a
superuser. Changes made in the admin are still captured in the audit trail (core/capture.py),
and the change page of a PHI record (`PhiReadAudited`) writes one view event.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from medoffice.core.models import (
    ApiToken,
    ApprovalRequest,
    AuditEvent,
    AuthorityLimit,
    EmergencyAccessGrant,
    Location,
    ModuleSwitch,
    PeriodicRun,
    Practice,
    Provider,
    Role,
    RolePermission,
    User,
)
from medoffice.core.money import ADMIN_OVERRIDES


class PhiReadAudited:
    """Admin mixin: opening a PHI record's change page writes one view event, as pages do."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.contrib.admin.utils import unquote

        from medoffice.core import audit

        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                audit.record_view(obj, reason="opened in the Django admin")
        return response


class SuperuserOnly:
    """Staff flags and Django model permissions grant nothing here; only superusers enter."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class ReadOnly(SuperuserOnly):
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Practice)
class PracticeAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ("legal_name", "group_npi", "city", "state", "time_zone", "require_two_factor")
    exclude = ("tax_id",)  # encrypted; edited on the practice page, shown masked
    readonly_fields = ("tax_id_masked",)


@admin.register(Location)
class LocationAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ("name", "city", "state", "place_of_service", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "city")


@admin.register(Provider)
class ProviderAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ("last_name", "first_name", "credentials", "npi", "specialty", "is_active")
    list_filter = ("is_active", "specialty")
    search_fields = ("last_name", "first_name", "npi")
    filter_horizontal = ("locations",)
    raw_id_fields = ("user",)


class RolePermissionInline(admin.TabularInline):
    model = RolePermission
    extra = 0


class AuthorityLimitInline(admin.TabularInline):
    model = AuthorityLimit
    extra = 0
    formfield_overrides = ADMIN_OVERRIDES  # limits through the one money parser


@admin.register(Role)
class RoleAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ("name", "code", "requires_two_factor")
    inlines = (RolePermissionInline, AuthorityLimitInline)

    def has_delete_permission(self, request, obj=None):
        return False  # roles are referenced by code in migrations and code


@admin.register(User)
class UserAdmin(SuperuserOnly, DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "title", "is_active", "is_superuser")
    list_filter = ("is_active", "is_superuser", "roles")
    filter_horizontal = ("roles",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email", "title")}),
        ("Access", {"fields": ("is_active", "roles", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")


@admin.register(ModuleSwitch)
class ModuleSwitchAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ("module", "enabled")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("pk", "kind", "amount", "status", "requested_by", "decided_by", "requested_at")
    list_filter = ("status", "kind")


@admin.register(EmergencyAccessGrant)
class EmergencyAccessGrantAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("user", "object_type", "object_id", "granted_at", "expires_at", "reviewed_at")


@admin.register(ApiToken)
class ApiTokenAdmin(SuperuserOnly, admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "prefix", "digest", "created_at", "last_used_at")

    def has_add_permission(self, request, *args):
        return False  # tokens are created by their owner, who sees the raw value once


@admin.register(PeriodicRun)
class PeriodicRunAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("task_path", "last_enqueued_at")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly, admin.ModelAdmin):
    """Read-only: there is no add, change or delete permission, whoever asks."""

    list_display = ("seq", "at", "actor_name", "action", "object_type", "object_id", "flagged")
    list_filter = ("action", "flagged")
    search_fields = ("actor_name", "object_type", "object_id", "patient_id")
    date_hierarchy = "at"
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


admin.site.site_header = "medoffice administration (superusers)"
admin.site.site_title = "medoffice administration"
