"""Delegated authority: how much each role may decide alone per kind of decision, and what
a user's roles add up to.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from medoffice.core import money
from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import AuthorityLimit, DecisionKind, Role, User
from medoffice.core.permissions import Perm


def _money(amount: Decimal | None) -> str:
    return "no limit" if amount is None else f"${amount:,.2f}"


def _exceeds(amount: Decimal | None, limit: Decimal | None) -> bool:
    """Whether an authority (None = no limit) is more than a limit (None = no limit)."""
    if limit is None:
        return False
    return amount is None or amount > limit


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
    return max(limit for limit in limits if limit is not None)


def covers(user: User, kind: str, amount: Decimal) -> bool:
    limit = authority_of(user, kind)
    return limit is None or amount <= limit


def may_request(user: User, kind: str) -> bool:
    """Only someone whose roles may spend on a kind (an authority above $0 for it) asks for
    one; read-only roles (an auditor) and roles without money authority never do."""
    limit = authority_of(user, kind)
    return limit is None or limit > 0


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
