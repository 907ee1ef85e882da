"""Reads about the practice, its people, approvals and the audit trail."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from medoffice.core.access import has_any_perm
from medoffice.core.memo import once_per_request, request_memo_open
from medoffice.core.models import AuditEvent, EmergencyAccessGrant, Practice, Role, User
from medoffice.core.modules import Module, all_modules, enabled_codes

if TYPE_CHECKING:
    from medoffice.core.models import Location, Provider

DEFAULT_TIME_ZONE = "America/New_York"


@once_per_request
def practice_or_none() -> Practice | None:
    return Practice.objects.order_by("pk").first()


@once_per_request
def practice_time_zone() -> str:
    if request_memo_open():  # the page reads the practice anyway: one query for both
        practice = practice_or_none()
        return (practice.time_zone if practice is not None else "") or DEFAULT_TIME_ZONE
    tz = Practice.objects.order_by("pk").values_list("time_zone", flat=True).first()
    return tz or DEFAULT_TIME_ZONE


def two_factor_required_for(user: User) -> bool:
    practice = practice_or_none()
    if practice is not None and not practice.require_two_factor:
        return False
    if user.is_superuser:  # the Django admin can change anything
        return True
    return Role.objects.filter(users=user, requires_two_factor=True).exists()


def navigation_for(user: User) -> list[Module]:
    """The modules a user sees: enabled for the practice, and one of its permissions held."""
    enabled = enabled_codes()
    return [
        module
        for module in all_modules()
        if module.code in enabled
        and (not module.nav_permissions or has_any_perm(user, *module.nav_permissions))
    ]


def audit_search(
    *,
    user_query: str = "",
    patient_id: str = "",
    object_type: str = "",
    object_id: str = "",
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    flagged_only: bool = False,
    patient_query: str = "",
    object_query: str = "",
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if patient_query:
        events = events.filter(patient_id__in=[str(pk) for pk in _patient_ids(patient_query)])
    if object_query:
        events = events.filter(
            Q(object_repr__icontains=object_query) | Q(object_type__icontains=object_query)
        )
    if user_query:
        events = events.filter(
            Q(actor_name__icontains=user_query) | Q(actor_id__in=_user_ids(user_query))
        )
    if patient_id:
        events = events.filter(patient_id=patient_id)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if action:
        events = events.filter(action=action)
    tz = timezone.get_current_timezone()
    if date_from:
        events = events.filter(at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        events = events.filter(at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    if flagged_only:
        events = events.filter(flagged=True)
    return events.order_by("-id")


PATIENTS_MATCHED = 500  # a patient search of the trail looks at most this many patients


def _patient_ids(query: str) -> list[int]:
    """Patients by MRN, or by every word of the query in their first or last name.

    core imports no other app: the patient model is found through the app registry.
    """
    from django.apps import apps

    try:
        patient_model = apps.get_model("patients", "Patient")
    except LookupError:
        return []
    words = [w for w in query.replace(",", " ").split() if w]
    if not words:
        return []
    by_mrn = Q(mrn__iexact=query.strip())
    by_name = Q()
    for word in words:
        by_name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return list(
        patient_model._default_manager.filter(by_mrn | by_name)
        .order_by("pk")
        .values_list("pk", flat=True)[:PATIENTS_MATCHED]
    )


def _user_ids(query: str) -> list[int]:
    return list(
        User.objects.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
        ).values_list("pk", flat=True)
    )


def emergency_grants_to_review() -> QuerySet[EmergencyAccessGrant]:
    return EmergencyAccessGrant.objects.filter(reviewed_at__isnull=True).select_related("user")


# --- Setup pages ------------------------------------------------------------------------


def setup_overview() -> dict:
    from django.db.models import Count

    from medoffice.core.models import Location, Provider

    return {
        "location_count": Location.objects.filter(is_active=True).count(),
        "provider_count": Provider.objects.filter(is_active=True).count(),
        "staff_count": User.objects.filter(is_active=True).count(),
        "roles": Role.objects.annotate(
            active_users=Count("users", filter=Q(users__is_active=True))
        ).order_by("name"),
        "modules": module_states(),
    }


def locations_with_counts() -> QuerySet[Location]:
    from django.db.models import Count

    from medoffice.core.models import Location

    return Location.objects.annotate(
        provider_count=Count("providers", filter=Q(providers__is_active=True))
    ).order_by("-is_active", "name")


def providers_for_setup() -> QuerySet[Provider]:
    from medoffice.core.models import Provider

    return (
        Provider.objects.select_related("user")
        .prefetch_related("locations")
        .order_by("-is_active", "last_name", "first_name")
    )


def staff_for_setup() -> QuerySet[User]:
    return User.objects.prefetch_related("roles").order_by("-is_active", "last_name", "first_name")


def role_codes_of(user: User) -> list[str]:
    return sorted(user.roles.values_list("code", flat=True))


def _lockouts() -> QuerySet[Any]:
    """django-axes records of accounts locked now (enough failures within the cool-off)."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt
    from django.conf import settings

    attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return attempts


def is_locked_out(user: User) -> bool:
    """Whether too many failed sign-ins have locked the account (django-axes)."""
    return _lockouts().filter(username=user.get_username()).exists()


def module_states() -> list[tuple[Module, bool]]:
    enabled = enabled_codes()
    return [(module, module.code in enabled) for module in all_modules()]


def authority_table() -> tuple[list[Role], dict]:
    """The roles, and each (role code, kind) -> amount (None: no limit; missing: no authority)."""
    from medoffice.core.models import AuthorityLimit

    roles = list(Role.objects.order_by("name"))
    limits = {
        (code, kind): amount
        for code, kind, amount in AuthorityLimit.objects.values_list("role__code", "kind", "amount")
    }
    return roles, limits


def failed_sign_ins_since(since: datetime) -> int:
    from medoffice.core.models import AuditAction

    return AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, at__gte=since).count()


def staff_summary() -> dict:
    """Active accounts, and how many are locked out now (one query each)."""
    active = User.objects.filter(is_active=True)
    locked = active.filter(username__in=_lockouts().values("username")).count()
    return {"active": active.count(), "locked": locked}
