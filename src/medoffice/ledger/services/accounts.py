"""The practice's edits to its chart of accounts: add, rename or renumber, deactivate.

An account's `key` (the job the posting code knows it by) is never edited here: the code
that posts follows keys, so a renamed or renumbered account keeps its postings coming.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum

from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition
from medoffice.core.role_permissions import require_perm
from medoffice.ledger.models import NORMAL_SIDE, Account, AccountType, JournalLine, Side
from medoffice.ledger.permissions import LedgerPerm
from medoffice.ledger.selectors import PATIENT_ACCOUNT_KEYS
from medoffice.ledger.services.posting import money_text

if TYPE_CHECKING:
    from medoffice.core.models import User


def _under_patient_accounts(parent: Account) -> bool:
    """Whether `parent` is patient A/R or unapplied patient payments, or sits under one: a
    patient's balance is read from those two accounts' lines alone."""
    cursor: Account | None = parent
    seen = 0
    while cursor is not None and seen < 50:
        if cursor.key in PATIENT_ACCOUNT_KEYS:
            return True
        cursor = cursor.parent
        seen += 1
    return False


def _check(
    *, code: str, name: str, parent: Account | None, type_: str, account: Account | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    code = code.strip()
    if not code:
        errors["code"] = ["Code: give the account a number."]
    elif len(code) > 20:
        errors["code"] = ["Code: at most 20 characters."]
    elif Account.objects.filter(code=code).exclude(pk=getattr(account, "pk", None)).exists():
        errors["code"] = [f"Code: {code} is another account's number."]
    if not name.strip():
        errors["name"] = ["Name: give the account a name."]
    if type_ not in AccountType.values:
        errors["type"] = ["Type: choose asset, liability, equity, revenue or expense."]
    if parent is not None:
        if _under_patient_accounts(parent):
            errors["parent"] = [
                "Parent: Patient accounts take no sub-accounts: each line names its patient."
            ]
        elif parent.type != type_:
            errors["parent"] = [f"Parent: {parent} is of another type."]
        cursor: Account | None = parent
        while cursor is not None and account is not None:
            if cursor.pk == account.pk:
                errors["parent"] = ["Parent: an account cannot sit under itself."]
                break
            cursor = cursor.parent
    return errors


@transaction.atomic
@binds_actor("actor")
def account_create(
    *,
    actor: User,
    code: str,
    name: str,
    type: str,
    parent: Account | None = None,
    contra: bool = False,
    description: str = "",
) -> Account:
    """A new account of the practice's own (no key: the posting code does not know it; manual
    entries and reports do)."""
    require_perm(actor, LedgerPerm.MANAGE_ACCOUNTS)
    errors = _check(code=code, name=name, parent=parent, type_=type, account=None)
    if errors:
        raise InvalidInput(
            " ".join(m[0] for m in errors.values()), field=next(iter(errors)), errors=errors
        )
    side = NORMAL_SIDE[type]
    if contra:
        side = Side.CREDIT if side == Side.DEBIT else Side.DEBIT
    return Account.objects.create(
        code=code.strip(),
        name=name.strip()[:120],
        type=type,
        normal_side=side,
        parent=parent,
        description=description.strip()[:300],
    )


@transaction.atomic
@binds_actor("actor")
def account_update(
    *,
    actor: User,
    account: Account,
    code: str,
    name: str,
    parent: Account | None,
    description: str | None = None,
) -> Account:
    """Rename, renumber or move an account under another heading; its type and key stay."""
    require_perm(actor, LedgerPerm.MANAGE_ACCOUNTS)
    account = Account.objects.select_for_update().get(pk=account.pk)
    errors = _check(code=code, name=name, parent=parent, type_=account.type, account=account)
    if errors:
        raise InvalidInput(
            " ".join(m[0] for m in errors.values()), field=next(iter(errors)), errors=errors
        )
    account.code = code.strip()
    account.name = name.strip()[:120]
    account.parent = parent
    if description is not None:
        account.description = description.strip()[:300]
    account.save()
    return account


def balance_cents(account: Account) -> int:
    return int(
        JournalLine.objects.filter(account=account).aggregate(n=Sum("amount_cents"))["n"] or 0
    )


@transaction.atomic
@binds_actor("actor")
def account_deactivate(*, actor: User, account: Account) -> Account:
    """Take an account out of use (nothing more posts to it); refused while it holds a balance
    or has active accounts under it."""
    require_perm(actor, LedgerPerm.MANAGE_ACCOUNTS)
    account = Account.objects.select_for_update().get(pk=account.pk)
    if not account.is_active:
        raise InvalidTransition(f"{account} is already inactive.")
    balance = balance_cents(account)
    if balance:
        raise InvalidTransition(
            f"{account} holds {money_text(abs(balance))}; move it to another account first."
        )
    if account.children.filter(is_active=True).exists():
        raise InvalidTransition(f"{account} has active accounts under it; deactivate them first.")
    account.is_active = False
    account.save(update_fields=["is_active"])
    return account


@transaction.atomic
@binds_actor("actor")
def account_reactivate(*, actor: User, account: Account) -> Account:
    require_perm(actor, LedgerPerm.MANAGE_ACCOUNTS)
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.is_active:
        raise InvalidTransition(f"{account} is active.")
    account.is_active = True
    account.save(update_fields=["is_active"])
    return account
