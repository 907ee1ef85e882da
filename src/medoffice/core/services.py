"""Every write to the practice, its people, authority and approvals."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from decimal import Decimal

from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import forget_permissions, has_perm, require_perm
from medoffice.core.exceptions import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    NotPermitted,
)
from medoffice.core.models import (
    ApiToken,
    ApprovalRequest,
    ApprovalStatus,
    AuditAction,
    AuthorityLimit,
    DecisionKind,
    EmergencyAccessGrant,
    Location,
    ModuleSwitch,
    Practice,
    Provider,
    Role,
    User,
)
from medoffice.core.permissions import Perm

EMERGENCY_ACCESS_MINUTES = 60
MIN_REASON_LENGTH = 10


def full_clean_or_raise(instance, *, exclude: list[str] | None = None) -> None:
    """Run model validation and turn Django's error into ours, naming every field."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        first_field, first_messages = next(iter(errors.items()))
        label = first_field if first_field != "__all__" else "input"
        raise InvalidInput(
            f"{label}: {first_messages[0]}", field=first_field, errors=errors
        ) from exc


def _apply(instance, fields: dict) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


# --- Practice setup -----------------------------------------------------------------------


def get_practice() -> Practice:
    practice = Practice.objects.order_by("pk").first()
    if practice is None:
        raise NotFound(
            "The practice has not been set up yet: run `medoffice demo` or the setup page."
        )
    return practice


@transaction.atomic
def practice_save(*, actor: User | None, **fields) -> Practice:
    """Create the practice, or update the one this deployment serves."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    practice = Practice.objects.select_for_update().order_by("pk").first() or Practice()
    _apply(practice, fields)
    full_clean_or_raise(practice)
    practice.save()
    return practice


@transaction.atomic
def location_save(*, actor: User | None, location: Location | None = None, **fields) -> Location:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    location = location or Location(practice=get_practice())
    _apply(location, fields)
    full_clean_or_raise(location)
    location.save()
    return location


@transaction.atomic
def provider_save(
    *,
    actor: User | None,
    provider: Provider | None = None,
    locations: list[Location] | None = None,
    **fields,
) -> Provider:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    provider = provider or Provider(practice=get_practice())
    _apply(provider, fields)
    full_clean_or_raise(provider)
    provider.save()
    if locations is not None:
        provider.locations.set(locations)
    return provider


# --- Users and roles ------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    role_codes: list[str],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    title: str = "",
    validate_password: bool = True,
) -> User:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken.", field="username")
    roles = list(Role.objects.filter(code__in=role_codes))
    unknown = set(role_codes) - {role.code for role in roles}
    if unknown:
        raise InvalidInput(f"Unknown role(s): {', '.join(sorted(unknown))}.", field="roles")
    user = User(
        username=username, first_name=first_name, last_name=last_name, email=email, title=title
    )
    if validate_password:
        from django.contrib.auth.password_validation import validate_password as check

        try:
            check(password, user)
        except ValidationError as exc:
            raise InvalidInput("password: " + " ".join(exc.messages), field="password") from exc
    user.set_password(password)
    full_clean_or_raise(user, exclude=["password"])
    user.save()
    user.roles.set(roles)
    return user


@transaction.atomic
def user_set_roles(*, actor: User | None, user: User, role_codes: list[str]) -> User:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
    roles = list(Role.objects.filter(code__in=role_codes))
    if len(roles) != len(set(role_codes)):
        raise InvalidInput("One or more roles do not exist.", field="roles")
    before = sorted(user.roles.values_list("code", flat=True))
    user.roles.set(roles)
    forget_permissions(user)
    audit.record(
        AuditAction.SECURITY,
        obj=user,
        changes={"roles": {"before": before, "after": sorted(role_codes)}},
    )
    return user


def end_sessions_of(user: User) -> int:
    """Delete every server-side session of a user (deactivation, password reset)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def user_deactivate(*, actor: User | None, user: User) -> User:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
        if actor.pk == user.pk:
            raise InvalidInput("You cannot deactivate your own account.", field="user")
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_sessions_of(user)
    user.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(
        AuditAction.SECURITY, obj=user, changes={"deactivated": True, "sessions_ended": ended}
    )
    return user


# --- Module switches ---------------------------------------------------------------------


@transaction.atomic
def module_set_enabled(*, actor: User | None, module: str, enabled: bool) -> ModuleSwitch:
    from medoffice.core.modules import all_modules

    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    known = {m.code: m for m in all_modules()}
    if module not in known:
        raise InvalidInput(f"There is no module called {module!r}.", field="module")
    if not known[module].switchable:
        raise InvalidInput(
            f"The {known[module].label} module cannot be switched off.", field="module"
        )
    switch, _ = ModuleSwitch.objects.update_or_create(module=module, defaults={"enabled": enabled})
    return switch


# --- Delegated authority and approvals ------------------------------------------------------


def authority_of(user: User, kind: str) -> Decimal | None:
    """The largest amount a user may decide alone for a kind; None means no limit, 0 none at all."""
    if not user.is_active:
        return Decimal("0")
    limits = list(
        AuthorityLimit.objects.filter(role__users=user, kind=kind).values_list("amount", flat=True)
    )
    if not limits:
        return Decimal("0")
    if any(limit is None for limit in limits):
        return None
    return max(limits)


def covers(user: User, kind: str, amount: Decimal) -> bool:
    limit = authority_of(user, kind)
    return limit is None or amount <= limit


def _check_decision(kind: str, amount) -> Decimal:
    if kind not in DecisionKind.values:
        raise InvalidInput(f"Unknown kind of decision {kind!r}.", field="kind")
    if not isinstance(amount, Decimal):
        raise InvalidInput("amount: money must be given as a Decimal.", field="amount")
    if amount < 0:
        raise InvalidInput("amount: must not be negative.", field="amount")
    return amount.quantize(Decimal("0.01"))


_approval_handlers: dict[str, list] = {}


def on_approval_decided(kind: str, handler) -> None:
    """Later modules register what happens when a decision of their kind is approved or rejected."""
    _approval_handlers.setdefault(kind, []).append(handler)


def _notify(request: ApprovalRequest) -> None:
    for handler in _approval_handlers.get(request.kind, []):
        handler(request)


@transaction.atomic
def approval_request(
    *,
    kind: str,
    amount: Decimal,
    description: str,
    requested_by: User,
    subject=None,
) -> ApprovalRequest:
    """Record a money decision: approved at once within the requester's limit, otherwise queued."""
    amount = _check_decision(kind, amount)
    if not description.strip():
        raise InvalidInput("description: say what is being decided.", field="description")
    within = covers(requested_by, kind, amount)
    now = timezone.now()
    request = ApprovalRequest.objects.create(
        kind=kind,
        amount=amount,
        description=description.strip()[:300],
        subject_type=audit.object_label(subject) if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        requested_by=requested_by,
        status=ApprovalStatus.APPROVED if within else ApprovalStatus.PENDING,
        decided_by=requested_by if within else None,
        decided_at=now if within else None,
        decision_note="within the requester's delegated authority" if within else "",
        within_requester_authority=within,
    )
    audit.record(
        AuditAction.APPROVAL,
        obj=request,
        changes={"status": request.status, "amount": str(amount), "kind": kind, "auto": within},
    )
    if within:
        _notify(request)
    return request


def pending_for(user: User):
    """The queue a user can act on: pending requests whose amount their authority covers."""
    coverable = Q(pk__in=[])
    for kind in DecisionKind.values:
        limit = authority_of(user, kind)
        if limit is None:
            coverable |= Q(kind=kind)
        elif limit > 0:
            coverable |= Q(kind=kind, amount__lte=limit)
    return (
        ApprovalRequest.objects.filter(coverable, status=ApprovalStatus.PENDING)
        .exclude(requested_by=user)
        .select_related("requested_by")
    )


@transaction.atomic
def approval_decide(
    *, request_id: int, decided_by: User, approve: bool, note: str = ""
) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No approval request #{request_id}.")
    if request.status != ApprovalStatus.PENDING:
        raise InvalidTransition(f"This request is already {request.get_status_display().lower()}.")
    if request.requested_by_id == decided_by.pk:
        raise NotPermitted("You cannot approve your own request.")
    if not covers(decided_by, request.kind, request.amount):
        limit = authority_of(decided_by, request.kind)
        raise NotPermitted(
            f"Your authority for {request.get_kind_display().lower()} is ${limit:,.2f}; "
            f"this request is ${request.amount:,.2f}."
        )
    if not approve and not note.strip():
        raise InvalidInput("note: give the reason for rejecting.", field="note")
    request.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    request.decided_by = decided_by
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:300]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        AuditAction.APPROVAL,
        obj=request,
        changes={"status": request.status, "note": request.decision_note},
    )
    _notify(request)
    return request


@transaction.atomic
def approval_cancel(*, request_id: int, cancelled_by: User) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No approval request #{request_id}.")
    if request.requested_by_id != cancelled_by.pk:
        raise NotPermitted("Only the requester can cancel a request.")
    if request.status != ApprovalStatus.PENDING:
        raise InvalidTransition(f"This request is already {request.get_status_display().lower()}.")
    request.status = ApprovalStatus.CANCELLED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit.record(AuditAction.APPROVAL, obj=request, changes={"status": request.status})
    return request


# --- Emergency access ------------------------------------------------------------------------


@transaction.atomic
def emergency_access_open(
    *, user: User, obj, perm: str, reason: str, minutes: int = EMERGENCY_ACCESS_MINUTES
) -> EmergencyAccessGrant:
    """Open a record outside the user's role for a while, on a stated reason, flagged to auditors."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise InvalidInput(
            f"reason: state why you need this record (at least {MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    if has_perm(user, perm):
        raise InvalidInput("Your role already covers this record; emergency access is not needed.")
    now = timezone.now()
    grant = EmergencyAccessGrant.objects.create(
        user=user,
        object_type=audit.object_label(obj),
        object_id=str(obj.pk),
        permission=str(perm),
        reason=reason,
        granted_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    audit.record(
        AuditAction.EMERGENCY_ACCESS,
        obj=obj,
        reason=reason,
        flagged=True,
        changes={
            "grant": grant.pk,
            "permission": str(perm),
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return grant


@transaction.atomic
def emergency_access_review(
    *, grant_id: int, reviewer: User, note: str = ""
) -> EmergencyAccessGrant:
    require_perm(reviewer, Perm.REVIEW_EMERGENCY_ACCESS)
    grant = EmergencyAccessGrant.objects.select_for_update().filter(pk=grant_id).first()
    if grant is None:
        raise NotFound(f"No emergency access grant #{grant_id}.")
    if grant.reviewed_at is not None:
        raise InvalidTransition("This grant has already been reviewed.")
    grant.reviewed_by = reviewer
    grant.reviewed_at = timezone.now()
    grant.review_note = note.strip()[:300]
    grant.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    audit.record(
        AuditAction.SECURITY, obj=grant, changes={"reviewed": True, "note": grant.review_note}
    )
    return grant


# --- API tokens -------------------------------------------------------------------------


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, days: int | None = 90) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and never stored."""
    if not name.strip():
        raise InvalidInput("name: give the token a name.", field="name")
    raw = "mo_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:80],
        prefix=raw[3:11],
        digest=token_digest(raw),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    audit.record(AuditAction.SECURITY, obj=token, changes={"api_token": "created"})
    return token, raw


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(f"No API token #{token_id}.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(AuditAction.SECURITY, obj=token, changes={"api_token": "revoked"})
    return token
