"""Reading the books: balances and the trial balance, summed by the database in cents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet, Sum

from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import Location, Provider
from medoffice.ledger.models import Account, JournalEntry, JournalLine, Side, to_dollars

PATIENT_ACCOUNT_KEYS = ("patient_ar", "unapplied_patient")
PAYER_AR_PREFIX = "insurance_ar:payer:"
"""The key of a payer's own insurance A/R sub-account is this and the payer's id."""


def lines_as_of(
    as_of: date | None = None,
    *,
    since: date | None = None,
    location_id: int | None = None,
    provider_id: int | None = None,
) -> QuerySet[JournalLine]:
    lines = JournalLine.objects.all()
    if as_of is not None:
        lines = lines.filter(date__lte=as_of)
    if since is not None:
        lines = lines.filter(date__gte=since)
    if location_id is not None:
        lines = lines.filter(location_id=location_id)
    if provider_id is not None:
        lines = lines.filter(provider_id=provider_id)
    return lines


def net_by_account(
    as_of: date | None = None,
    *,
    since: date | None = None,
    location_id: int | None = None,
    provider_id: int | None = None,
) -> dict[int, int]:
    """Each account's net (debits minus credits) in cents, over the lines in range."""
    if as_of is not None and since is None and _nothing_after(as_of):
        as_of = None  # the usual case (as of today): one pass over the account index, unfiltered
    rows = (
        lines_as_of(as_of, since=since, location_id=location_id, provider_id=provider_id)
        .order_by()
        .values_list("account_id")
        .annotate(net=Sum("amount_cents"))
    )
    return {account_id: int(net) for account_id, net in rows if net}


def _nothing_after(day: date) -> bool:
    """No line is dated after `day` (one probe of the date index)."""
    return not JournalLine.objects.filter(date__gt=day).exists()


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debit_cents: int
    credit_cents: int

    @property
    def debit(self) -> Decimal:
        return to_dollars(self.debit_cents)

    @property
    def credit(self) -> Decimal:
        return to_dollars(self.credit_cents)


@dataclass(frozen=True)
class TrialBalance:
    as_of: date | None
    rows: list[TrialBalanceRow]

    @property
    def debit_cents(self) -> int:
        return sum(row.debit_cents for row in self.rows)

    @property
    def credit_cents(self) -> int:
        return sum(row.credit_cents for row in self.rows)

    @property
    def balanced(self) -> bool:
        return self.debit_cents == self.credit_cents

    @property
    def difference(self) -> Decimal:
        return to_dollars(abs(self.debit_cents - self.credit_cents))

    @property
    def total_debit(self) -> Decimal:
        return to_dollars(self.debit_cents)

    @property
    def total_credit(self) -> Decimal:
        return to_dollars(self.credit_cents)


def check_dimensions(
    location_id: int | None,
    provider_id: int | None,
    *,
    fields: tuple[str, str] = ("location", "provider"),
) -> dict[str, int | None]:
    """The location and provider a report is filtered by; one that is not there is refused,
    never read as "all" (a report for a desk that does not exist would show the whole)."""
    if location_id is not None and not Location.objects.filter(pk=location_id).exists():
        raise InvalidInput(
            f"There is no location {location_id}: choose one of the locations.", field=fields[0]
        )
    if provider_id is not None and not Provider.objects.filter(pk=provider_id).exists():
        raise InvalidInput(
            f"There is no provider {provider_id}: choose one of the providers.", field=fields[1]
        )
    return {"location_id": location_id, "provider_id": provider_id}


def trial_balance(
    as_of: date | None = None, *, location_id: int | None = None, provider_id: int | None = None
) -> TrialBalance:
    """Every account with a balance, on its debit or credit column, as of a date."""
    nets = net_by_account(as_of, location_id=location_id, provider_id=provider_id)
    accounts = Account.objects.in_bulk(list(nets))
    rows = [TrialBalanceRow(accounts[pk], max(net, 0), max(-net, 0)) for pk, net in nets.items()]
    rows.sort(key=lambda row: row.account.code)
    return TrialBalance(as_of, rows)


def balance_of(account: Account, as_of: date | None = None) -> Decimal:
    """An account's balance on its normal side (a credit-normal account reads positive)."""
    net = lines_as_of(as_of).filter(account=account).aggregate(net=Sum("amount_cents"))["net"] or 0
    return to_dollars(net if account.normal_side == Side.DEBIT else -net)


def patient_account_cents(patient_ids: Iterable[int]) -> dict[int, int]:
    """What each patient account owes in cents (patient A/R less unapplied payments); negative
    is money paid ahead. One query."""
    ids = list(set(patient_ids))
    if not ids:
        return {}
    rows = (
        JournalLine.objects.filter(patient_id__in=ids, account__key__in=PATIENT_ACCOUNT_KEYS)
        .order_by()
        .values_list("patient_id")
        .annotate(net=Sum("amount_cents"))
    )
    return {patient_id: int(net) for patient_id, net in rows}


def payer_of_key(key: str | None) -> int | None:
    """The payer whose insurance A/R an account key names, or None for any other account."""
    if not key or not key.startswith(PAYER_AR_PREFIX):
        return None
    rest = key.removeprefix(PAYER_AR_PREFIX)
    return int(rest) if rest.isdigit() else None


def payer_ar_cents(payer_ids: Iterable[int] | None = None) -> dict[int, int]:
    """What each payer owes in cents (its insurance A/R sub-account's balance), by payer id;
    all payers with a balance when none are named. One query."""
    lines = JournalLine.objects.filter(account__key__startswith=PAYER_AR_PREFIX)
    if payer_ids is not None:
        lines = lines.filter(account__key__in=[f"{PAYER_AR_PREFIX}{pk}" for pk in set(payer_ids)])
    rows = lines.order_by().values_list("account__key").annotate(net=Sum("amount_cents"))
    found = {payer_of_key(key): int(net) for key, net in rows if net}
    return {payer_id: net for payer_id, net in found.items() if payer_id is not None}


def entries_for_source(source_type: str, source_id: str | int) -> QuerySet[JournalEntry]:
    return JournalEntry.objects.filter(source_type=source_type, source_id=str(source_id)).order_by(
        "id"
    )
