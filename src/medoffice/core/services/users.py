"""Staff accounts and their roles: creating, editing, (de)activating, resetting passwords,
unlocking; nobody grants or manages more than they hold themselves.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import forget_permissions, require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, NotPermitted
from medoffice.core.models import AuditAction, Role, User
from medoffice.core.permissions import Perm, in_words
from medoffice.core.services._common import _apply, _checked_fields
from medoffice.core.services.authority import _exceeds, _money, authority_of
from medoffice.core.services.validation import full_clean_or_raise

USER_FIELDS = ("first_name", "last_name", "email", "title")


def _roles_for(role_codes: list[str]) -> list[Role]:
    codes = sorted(set(role_codes))
    if not codes:
        raise InvalidInput("roles: choose at least one role.", field="roles")
    roles = list(Role.objects.filter(code__in=codes))
    unknown = set(codes) - {role.code for role in roles}
    if unknown:
        raise InvalidInput(f"roles: unknown role(s) {', '.join(sorted(unknown))}.", field="roles")
    return roles


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
                f"(to {', '.join(sorted(in_words(codename) for codename in missing))}).",
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
def user_update(*, actor: User | None, user: User, **fields: Any) -> User:
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
    store_class = Session.get_session_store_class()
    assert store_class is not None  # Session always names its store
    store = store_class()
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
def user_reset_password(
    *, actor: User | None, user: User, password: str, current_password: str | None = None
) -> User:
    """Set a new password for someone; every session and API token they had ends.

    Changing one's own password needs the current one: a stolen session or token alone
    must not be enough to take the account over.
    """
    if actor is not None:
        require_perm(actor, Perm.MANAGE_USERS)
        if actor.pk == user.pk and not (current_password and user.check_password(current_password)):
            raise InvalidInput(
                "current_password: enter your current password to change it.",
                field="current_password",
            )
    _check_can_manage(actor, user, "reset the password of")
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = end_sessions_of(user)
    revoked = user.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(
        AuditAction.SECURITY,
        obj=user,
        changes={"password": "reset", "sessions_ended": ended, "tokens_revoked": revoked},
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
