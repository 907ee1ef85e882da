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

from medoffice.core import audit, money
from medoffice.core.access import forget_permissions, has_perm, require_perm
from medoffice.core.context import binds_actor
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


def field_label(model, name: str) -> str:
    """The name people know a field by (its verbose name), for error messages."""
    if name in ("__all__", "", None):
        return "input"
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return name.replace("_", " ")


def full_clean_or_raise(instance, *, exclude: list[str] | None = None) -> None:
    """Run model validation and turn Django's error into ours, naming every field.

    The message names the field as people know it: "group NPI: This NPI fails the check digit".
    """
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        summary = "; ".join(
            f"{field_label(instance, name)}: {' '.join(messages)}"
            for name, messages in errors.items()
        )
        first_field = next(iter(errors))
        raise InvalidInput(summary, field=first_field, errors=errors) from exc


def _apply(instance, fields: dict) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


# --- Practice setup -----------------------------------------------------------------------

PRACTICE_FIELDS = (
    "legal_name", "tax_id", "group_npi", "phone", "address_line1", "address_line2", "city",
    "state", "zip_code", "time_zone", "require_two_factor", "is_demo",
)  # fmt: skip
LOCATION_FIELDS = (
    "name", "phone", "place_of_service", "address_line1", "address_line2", "city", "state",
    "zip_code",
)  # fmt: skip
PROVIDER_FIELDS = ("first_name", "last_name", "credentials", "npi", "taxonomy", "specialty")
USER_FIELDS = ("first_name", "last_name", "email", "title")
PROVIDER_USER_ROLES = ("clinician", "owner")


def _checked_fields(model, fields: dict, allowed: tuple[str, ...]) -> dict:
    """Refuse fields a service does not set, and tidy text (trim; codes upper-cased)."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]}: this field cannot be set here.",
            field=unknown[0],
            errors={name: ["This field cannot be set here."] for name in unknown},
        )
    tidy = {}
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
            if name in ("state", "taxonomy"):
                value = value.upper()
        tidy[name] = value
    return tidy


def get_practice() -> Practice:
    practice = Practice.objects.order_by("pk").first()
    if practice is None:
        raise NotFound(
            "The practice has not been set up yet: run `medoffice demo` or the setup page."
        )
    return practice


@transaction.atomic
@binds_actor("actor")
def practice_save(*, actor: User | None, **fields) -> Practice:
    """Create the practice, or update the one this deployment serves.

    A blank tax id keeps the one on file (forms show it masked and do not send it back).
    """
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    fields = _checked_fields(Practice, fields, PRACTICE_FIELDS)
    practice = Practice.objects.select_for_update().order_by("pk").first() or Practice()
    if practice.pk and not fields.get("tax_id", practice.tax_id):
        fields.pop("tax_id", None)
    _apply(practice, fields)
    full_clean_or_raise(practice)
    practice.save()
    return practice


@transaction.atomic
@binds_actor("actor")
def location_save(*, actor: User | None, location: Location | None = None, **fields) -> Location:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    fields = _checked_fields(Location, fields, LOCATION_FIELDS)
    location = location or Location(practice=get_practice())
    _apply(location, fields)
    duplicate = (
        Location.objects.filter(practice=location.practice, name__iexact=location.name)
        .exclude(pk=location.pk)
        .exists()
    )
    if duplicate:
        raise InvalidInput(
            f"name: there is already a location called {location.name!r}.", field="name"
        )
    full_clean_or_raise(location)
    location.save()
    return location


@transaction.atomic
@binds_actor("actor")
def location_set_active(*, actor: User | None, location: Location, active: bool) -> Location:
    """Deactivate (or bring back) a location; its history and links stay."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    location = Location.objects.select_for_update().get(pk=location.pk)
    if location.is_active != active:
        location.is_active = active
        location.save(update_fields=["is_active"])
    return location


def _check_provider_user(provider: Provider, user: User | None) -> None:
    if user is None:
        return
    if not user.is_active:
        raise InvalidInput(f"user: {user} is deactivated.", field="user")
    if not user.roles.filter(code__in=PROVIDER_USER_ROLES).exists():
        raise InvalidInput(
            f"user: {user} does not hold the clinician role; give them that role first.",
            field="user",
        )
    taken = Provider.objects.filter(user=user).exclude(pk=provider.pk).first()
    if taken is not None:
        raise InvalidInput(f"user: {user} is already linked to {taken}.", field="user")


def _check_provider_locations(provider: Provider, locations: list[Location]) -> None:
    current = set(provider.locations.values_list("pk", flat=True)) if provider.pk else set()
    for location in locations:
        if location.practice_id != provider.practice_id:
            raise InvalidInput(
                f"locations: {location} is not one of the practice's.", field="locations"
            )
        if not location.is_active and location.pk not in current:
            raise InvalidInput(f"locations: {location} is deactivated.", field="locations")


@transaction.atomic
@binds_actor("actor")
def provider_save(
    *,
    actor: User | None,
    provider: Provider | None = None,
    locations: list[Location] | None = None,
    **fields,
) -> Provider:
    """Add or edit a provider: individual NPI, taxonomy, specialty, locations, linked clinician."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    link = fields.pop("user", provider.user if provider is not None else None)
    fields = _checked_fields(Provider, fields, PROVIDER_FIELDS)
    provider = provider or Provider(practice=get_practice())
    _apply(provider, fields)
    if link is not None and (link.pk != provider.user_id or provider.pk is None):
        _check_provider_user(provider, link)
    provider.user = link
    if locations is not None:
        _check_provider_locations(provider, locations)
    full_clean_or_raise(provider)
    provider.save()
    if locations is not None:
        provider.locations.set(locations)
    return provider


@transaction.atomic
@binds_actor("actor")
def provider_set_active(*, actor: User | None, provider: Provider, active: bool) -> Provider:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    provider = Provider.objects.select_for_update().get(pk=provider.pk)
    if provider.is_active != active:
        provider.is_active = active
        provider.save(update_fields=["is_active"])
    return provider


# --- Users and roles ------------------------------------------------------------------------


def _roles_for(role_codes: list[str]) -> list[Role]:
    codes = sorted(set(role_codes))
    if not codes:
        raise InvalidInput("roles: choose at least one role.", field="roles")
    roles = list(Role.objects.filter(code__in=codes))
    unknown = set(codes) - {role.code for role in roles}
    if unknown:
        raise InvalidInput(f"roles: unknown role(s) {', '.join(sorted(unknown))}.", field="roles")
    return roles


def _money(amount: Decimal | None) -> str:
    return "no limit" if amount is None else f"${amount:,.2f}"


def _exceeds(amount: Decimal | None, limit: Decimal | None) -> bool:
    """Whether an authority (None = no limit) is more than a limit (None = no limit)."""
    if limit is None:
        return False
    return amount is None or amount > limit


def _check_can_grant(actor: User | None, roles: list[Role]) -> None:
    """Nobody grants more than they hold: no permission or money authority beyond their own."""
    if actor is None:
        return
    from medoffice.core.access import permissions_of

    held = permissions_of(actor)
    for role in roles:
        missing = set(role.permissions.values_list("codename", flat=True)) - held
        if missing:
            raise NotPermitted(
                f"roles: you cannot grant the {role.name} role: it holds permissions you do not "
                f"({', '.join(sorted(missing))}).",
                field="roles",
            )
        for limit in role.limits.all():
            mine = authority_of(actor, limit.kind)
            if _exceeds(limit.amount, mine):
                raise NotPermitted(
                    f"roles: you cannot grant the {role.name} role: its authority for "
                    f"{limit.get_kind_display().lower()} ({_money(limit.amount)}) is more than "
                    f"yours ({_money(mine)}).",
                    field="roles",
                )


def _check_can_manage(actor: User | None, user: User, what: str) -> None:
    """Nobody manages an account whose roles carry more than their own (an owner's, say)."""
    if actor is None or actor.pk == user.pk:
        return
    try:
        _check_can_grant(actor, list(user.roles.all()))
    except NotPermitted as exc:
        raise NotPermitted(
            f"You cannot {what} {user}: their roles carry permissions or authority beyond yours."
        ) from exc


def _check_password(password: str, user: User) -> None:
    from django.contrib.auth.password_validation import validate_password as check

    try:
        check(password, user)
    except ValidationError as exc:
        raise InvalidInput("password: " + " ".join(exc.messages), field="password") from exc


@transaction.atomic
@binds_actor("actor")
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
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"username: {username!r} is taken.", field="username")
    roles = _roles_for(role_codes)
    _check_can_grant(actor, roles)
    user = User(
        username=username,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        title=title.strip(),
    )
    if validate_password:
        _check_password(password, user)
    user.set_password(password)
    full_clean_or_raise(user, exclude=["password"])
    user.save()
    user.roles.set(roles)
    audit.record(
        AuditAction.SECURITY,
        obj=user,
        changes={"roles": {"before": [], "after": sorted(role_codes)}},
    )
    return user


@transaction.atomic
@binds_actor("actor")
def user_update(*, actor: User | None, user: User, **fields) -> User:
    """Change a staff member's name, email or title."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
    _check_can_manage(actor, user, "edit")
    fields = _checked_fields(User, fields, USER_FIELDS)
    _apply(user, fields)
    full_clean_or_raise(user, exclude=["password"])
    user.save(update_fields=list(fields))
    return user


@transaction.atomic
@binds_actor("actor")
def user_set_roles(*, actor: User | None, user: User, role_codes: list[str]) -> User:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
        if actor.pk == user.pk:
            raise NotPermitted("roles: you cannot change your own roles.", field="roles")
    _check_can_manage(actor, user, "change the roles of")
    roles = _roles_for(role_codes)
    before = sorted(user.roles.values_list("code", flat=True))
    _check_can_grant(actor, [role for role in roles if role.code not in before])
    user.roles.set(roles)
    forget_permissions(user)
    after = sorted(role.code for role in roles)
    if before != after:
        audit.record(
            AuditAction.SECURITY, obj=user, changes={"roles": {"before": before, "after": after}}
        )
    return user


def end_sessions_of(user: User) -> int:
    """Delete every server-side session of a user (deactivation, password reset).

    Session data is signed and encoded, so each live session is decoded here; a practice has
    as many live sessions as people signed in, which keeps this small.
    """
    store = Session.get_session_store_class()()
    ended = []
    for key, data in Session.objects.filter(expire_date__gt=timezone.now()).values_list(
        "session_key", "session_data"
    ):
        decoded = store.decode(data)
        if str(decoded.get("_auth_user_id")) == str(user.pk):
            ended.append(key)
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


@transaction.atomic
@binds_actor("actor")
def user_deactivate(*, actor: User | None, user: User) -> User:
    """Deactivate an account: it cannot sign in, and its sessions and API tokens end now."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
        if actor.pk == user.pk:
            raise InvalidInput("user: you cannot deactivate your own account.", field="user")
    _check_can_manage(actor, user, "deactivate")
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_sessions_of(user)
    revoked = user.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(
        AuditAction.SECURITY,
        obj=user,
        changes={"deactivated": True, "sessions_ended": ended, "tokens_revoked": revoked},
    )
    return user


@transaction.atomic
@binds_actor("actor")
def user_reactivate(*, actor: User | None, user: User) -> User:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
    _check_can_manage(actor, user, "reactivate")
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(AuditAction.SECURITY, obj=user, changes={"reactivated": True})
    return user


@transaction.atomic
@binds_actor("actor")
def user_reset_password(*, actor: User | None, user: User, password: str) -> User:
    """Set a new password for someone; every session they had ends."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
    _check_can_manage(actor, user, "reset the password of")
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = end_sessions_of(user)
    audit.record(
        AuditAction.SECURITY, obj=user, changes={"password": "reset", "sessions_ended": ended}
    )
    return user


@transaction.atomic
@binds_actor("actor")
def user_unlock(*, actor: User | None, user: User) -> int:
    """Lift a lockout after too many failed sign-ins."""
    from axes.utils import reset

    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
    cleared = reset(username=user.get_username())
    audit.record(AuditAction.SECURITY, obj=user, changes={"unlocked": True, "cleared": cleared})
    return cleared


# --- Module switches ---------------------------------------------------------------------


@transaction.atomic
@binds_actor("actor")
def module_set_enabled(*, actor: User | None, module: str, enabled: bool) -> ModuleSwitch:
    from medoffice.core.modules import all_modules

    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    known = {m.code: m for m in all_modules()}
    if module not in known:
        raise InvalidInput(f"module: there is no module called {module!r}.", field="module")
    if not known[module].switchable:
        raise InvalidInput(
            f"module: the {known[module].label} module cannot be switched off.", field="module"
        )
    switch, _ = ModuleSwitch.objects.update_or_create(module=module, defaults={"enabled": enabled})
    return switch


# --- Authority limits -----------------------------------------------------------------------


@transaction.atomic
@binds_actor("actor")
def authority_limits_set(
    *, actor: User | None, limits: dict[tuple[str, str], Decimal | None]
) -> list[AuthorityLimit]:
    """Set how much each role may decide alone per kind: an amount, 0 for none, None for no limit.

    Nobody sets (or changes) a limit beyond their own authority for that kind.
    """
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    roles = {role.code: role for role in Role.objects.all()}
    current = {
        (limit.role.code, limit.kind): limit
        for limit in AuthorityLimit.objects.select_related("role").select_for_update()
    }
    changed: list[AuthorityLimit] = []
    for (role_code, kind), amount in limits.items():
        field = f"{role_code}.{kind}"
        if role_code not in roles:
            raise InvalidInput(f"{field}: there is no role {role_code!r}.", field=field)
        if kind not in DecisionKind.values:
            raise InvalidInput(f"{field}: unknown kind of decision {kind!r}.", field=field)
        if amount is not None:
            amount = money.parse_money(amount, field=field, minimum=money.ZERO)
        existing = current.get((role_code, kind))
        old = existing.amount if existing is not None else Decimal("0")
        if existing is not None and old == amount:
            continue
        if existing is None and amount == Decimal("0"):
            continue  # no row already means no authority
        if actor is not None:
            mine = authority_of(actor, kind)
            label = f"{roles[role_code].name}, {DecisionKind(kind).label.lower()}"
            if _exceeds(amount, mine) or _exceeds(old, mine):
                raise NotPermitted(
                    f"{field}: {label} is beyond your own authority ({_money(mine)}); "
                    "someone whose authority covers it must set it.",
                    field=field,
                )
        if existing is None:
            existing = AuthorityLimit(role=roles[role_code], kind=kind)
        existing.amount = amount
        existing.save()
        changed.append(existing)
    return changed


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


def _check_decision(kind: str, amount: object) -> Decimal:
    if kind not in DecisionKind.values:
        raise InvalidInput(f"Unknown kind of decision {kind!r}.", field="kind")
    return money.parse_money(amount, field="amount")


_approval_handlers: dict[str, list] = {}


def on_approval_decided(kind: str, handler) -> None:
    """Later modules register what happens when a decision of their kind is approved or rejected."""
    _approval_handlers.setdefault(kind, []).append(handler)


def _notify(request: ApprovalRequest) -> None:
    for handler in _approval_handlers.get(request.kind, []):
        handler(request)


@transaction.atomic
@binds_actor("requested_by")
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
@binds_actor("decided_by")
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
@binds_actor("cancelled_by")
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


def emergency_access_allowed(perm: str) -> bool:
    """Only a module's permission to view records can be opened in an emergency, never to
    manage, change or export, nor the foundation's own (the audit trail, users)."""
    app, _, action = str(perm).partition(".")
    return bool(app) and app != "core" and action.startswith("view")


@transaction.atomic
@binds_actor("user")
def emergency_access_open(
    *, user: User, obj, perm: str, reason: str, minutes: int = EMERGENCY_ACCESS_MINUTES
) -> EmergencyAccessGrant:
    """Open a record outside the user's role for a while, on a stated reason, flagged to auditors."""
    reason = (reason or "").strip()
    if not emergency_access_allowed(perm):
        raise NotPermitted(
            "Emergency access opens records for reading only; it cannot grant this permission."
        )
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
@binds_actor("reviewer")
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
@binds_actor("user")
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
@binds_actor("user")
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(f"No API token #{token_id}.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(AuditAction.SECURITY, obj=token, changes={"api_token": "revoked"})
    return token
