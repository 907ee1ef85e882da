"""The books' reports: general-ledger detail, the income statement, the balance sheet and a
patient account's activity (the cash collected at the desks is in `cash`).

Every figure is summed by the database in whole cents (one query per report, or a fixed
few); running balances are window sums, so a page of detail costs the same whatever the
size of the books.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import Coalesce

from medoffice.core.exceptions import InvalidInput
from medoffice.ledger import sources
from medoffice.ledger.models import Account, AccountType, JournalLine, to_dollars
from medoffice.ledger.selectors import PATIENT_ACCOUNT_KEYS, lines_as_of

DETAIL_PAGE = 200  # lines on one page of general-ledger detail
STATEMENT_LIMIT = 2000  # lines one patient statement shows (the newest; older are carried)


def _running(lines: QuerySet[JournalLine]) -> QuerySet[JournalLine]:
    order = [F("date").asc(), F("entry_id").asc(), F("id").asc()]
    return lines.annotate(running=Window(Sum("amount_cents"), order_by=order)).order_by(
        "date", "entry_id", "id"
    )


def _ids(accounts: Q) -> list[int]:
    """The accounts' ids, so the lines are filtered by their own column (no join)."""
    return list(Account.objects.filter(accounts).values_list("id", flat=True))


def _sum(lines: QuerySet[JournalLine]) -> int:
    return int(lines.aggregate(net=Coalesce(Sum("amount_cents"), 0))["net"])


# --- General-ledger detail --------------------------------------------------------------------


@dataclass(frozen=True)
class DetailLine:
    date: date
    entry_id: int
    source: str
    memo: str
    amount_cents: int
    balance_cents: int  # running, on the account's normal side
    location: str
    provider: str
    source_text: str = ""  # the source in words ("Payment, receipt 20261201-0003")
    source_url: str = ""  # its page, where one exists

    @property
    def debit(self) -> Decimal | None:
        return to_dollars(self.amount_cents) if self.amount_cents > 0 else None

    @property
    def credit(self) -> Decimal | None:
        return to_dollars(-self.amount_cents) if self.amount_cents < 0 else None

    @property
    def balance(self) -> Decimal:
        return to_dollars(self.balance_cents)


@dataclass(frozen=True)
class AccountDetail:
    account: Account
    since: date | None
    until: date | None
    opening_cents: int
    closing_cents: int
    lines: list[DetailLine]
    count: int
    offset: int
    limit: int

    @property
    def opening(self) -> Decimal:
        return to_dollars(self.opening_cents)

    @property
    def closing(self) -> Decimal:
        return to_dollars(self.closing_cents)

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.lines) < self.count


def _side(account: Account) -> int:
    return 1 if account.is_debit_normal else -1


def account_detail(
    account: Account,
    *,
    since: date | None = None,
    until: date | None = None,
    location_id: int | None = None,
    provider_id: int | None = None,
    offset: int = 0,
    limit: int = DETAIL_PAGE,
) -> AccountDetail:
    """One account's lines in a date range with the balance after each, on the account's
    normal side, starting from its balance before the range. Four queries whatever the page."""
    dims: dict[str, Any] = {"location_id": location_id, "provider_id": provider_id}
    sign = _side(account)
    opening = 0
    if since is not None:
        before = lines_as_of(since - timedelta(days=1), **dims).filter(account=account)
        opening = _sum(before) * sign
    in_range = lines_as_of(until, since=since, **dims).filter(account=account)
    total = in_range.aggregate(n=Count("id"), net=Coalesce(Sum("amount_cents"), 0))
    rows = (
        _running(in_range)
        .select_related("entry", "location", "provider")
        .only(
            "date", "amount_cents", "memo", "entry__id", "entry__source_key", "entry__memo",
            "location__name", "provider__first_name", "provider__last_name",
        )[offset : offset + limit]
    )  # fmt: skip
    fetched = list(rows)
    labels = sources.describe_keys(row.entry.source_key for row in fetched)
    lines = [
        DetailLine(
            date=row.date,
            entry_id=row.entry_id,
            source=row.entry.source_key,
            source_text=labels[row.entry.source_key].text,
            source_url=labels[row.entry.source_key].url,
            memo=row.memo or row.entry.memo,
            amount_cents=row.amount_cents,
            balance_cents=opening + sign * int(row.running),  # type: ignore[attr-defined]
            location=row.location.name if row.location else "",
            provider=str(row.provider) if row.provider else "",
        )
        for row in fetched
    ]
    return AccountDetail(
        account=account,
        since=since,
        until=until,
        opening_cents=opening,
        closing_cents=opening + sign * int(total["net"]),
        lines=lines,
        count=int(total["n"] or 0),
        offset=offset,
        limit=limit,
    )


# --- Income statement ------------------------------------------------------------------------


@dataclass
class StatementRow:
    account: Account
    cells: dict[Any, int]  # column key -> cents, on the section's side (revenue positive)

    @property
    def total_cents(self) -> int:
        return sum(self.cells.values())

    def cell(self, key: Any) -> Decimal:
        return to_dollars(self.cells.get(key, 0))


@dataclass
class IncomeStatement:
    since: date
    until: date
    by: str  # "month" | "location"
    columns: list[tuple[Any, str]]  # (key, label)
    revenue: list[StatementRow] = field(default_factory=list)
    expenses: list[StatementRow] = field(default_factory=list)

    def _totals(self, rows: list[StatementRow]) -> dict[Any, int]:
        return {key: sum(row.cells.get(key, 0) for row in rows) for key, _ in self.columns}

    @property
    def revenue_totals(self) -> dict[Any, int]:
        return self._totals(self.revenue)

    @property
    def expense_totals(self) -> dict[Any, int]:
        return self._totals(self.expenses)

    @property
    def net_totals(self) -> dict[Any, int]:
        revenue, expenses = self.revenue_totals, self.expense_totals
        return {key: revenue[key] - expenses[key] for key, _ in self.columns}

    @property
    def revenue_cents(self) -> int:
        return sum(row.total_cents for row in self.revenue)

    @property
    def expense_cents(self) -> int:
        return sum(row.total_cents for row in self.expenses)

    @property
    def net_income_cents(self) -> int:
        return self.revenue_cents - self.expense_cents

    def table(self) -> list[tuple[str, list[tuple[str, list[int], int]], list[int], int]]:
        """(section, [(account words, cells, total)], section cells, section total) in the
        column order, for the page, the CSV and the PDF alike."""
        keys = [key for key, _ in self.columns]

        def section(rows: list[StatementRow]) -> list[tuple[str, list[int], int]]:
            return [
                (str(row.account), [row.cells.get(k, 0) for k in keys], row.total_cents)
                for row in rows
            ]

        revenue, expenses = self.revenue_totals, self.expense_totals
        return [
            ("Revenue", section(self.revenue), [revenue[k] for k in keys], self.revenue_cents),
            ("Expenses", section(self.expenses), [expenses[k] for k in keys], self.expense_cents),
        ]


def months_between(since: date, until: date) -> list[date]:
    months, cursor = [], since.replace(day=1)
    while cursor <= until:
        months.append(cursor)
        cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


MAX_MONTHS = 36  # columns one income statement shows


def income_statement(
    *,
    since: date,
    until: date,
    by: str = "month",
    location_id: int | None = None,
    provider_id: int | None = None,
) -> IncomeStatement:
    """Revenue and expenses in a date range, a column per month or per location. A contra
    revenue account (contractual adjustments) is netted into revenue. Three queries."""
    from medoffice.core.models import Location

    if by not in ("month", "location"):
        by = "month"
    if by == "month" and len(months_between(since, until)) > MAX_MONTHS:
        raise InvalidInput(
            f"since: show at most {MAX_MONTHS} months by month (or choose by location).",
            field="since",
        )
    lines = lines_as_of(
        until, since=since, location_id=location_id, provider_id=provider_id
    ).filter(account_id__in=_ids(Q(type__in=(AccountType.REVENUE, AccountType.EXPENSE))))
    # By month the database sums each account's days (bounded by the days in the range, not
    # the lines) and the days are added into months here: SQLite truncates dates in Python.
    group = "date" if by == "month" else "location_id"
    rows = lines.order_by().values_list("account_id", group).annotate(net=Sum("amount_cents"))
    cells: dict[int, dict[Any, int]] = {}
    for account_id, key, net in rows:
        if by == "month":
            key = key.replace(day=1)
        per = cells.setdefault(account_id, {})
        per[key] = per.get(key, 0) + int(net)
    accounts = Account.objects.in_bulk(list(cells))
    if by == "month":
        columns: list[tuple[Any, str]] = [
            (month, month.strftime("%b %Y")) for month in months_between(since, until)
        ]
    else:
        keys = {key for per in cells.values() for key in per}
        names = dict(
            Location.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name")
        )
        columns = sorted(((key, names.get(key, "No location")) for key in keys), key=lambda c: c[1])
    statement = IncomeStatement(since=since, until=until, by=by, columns=columns)
    for account_id, per in sorted(cells.items(), key=lambda item: accounts[item[0]].code):
        account = accounts[account_id]
        if account.type == AccountType.REVENUE:  # credits are revenue: shown positive
            statement.revenue.append(StatementRow(account, {k: -v for k, v in per.items()}))
        else:
            statement.expenses.append(StatementRow(account, dict(per)))
    return statement


# --- Balance sheet ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    label: str
    cents: int
    account: Account | None = None

    @property
    def amount(self) -> Decimal:
        return to_dollars(self.cents)


@dataclass(frozen=True)
class BalanceSheet:
    as_of: date
    assets: list[SheetRow]
    liabilities: list[SheetRow]
    equity: list[SheetRow]  # with the earnings not yet closed as their own lines

    @property
    def assets_cents(self) -> int:
        return sum(row.cents for row in self.assets)

    @property
    def liabilities_cents(self) -> int:
        return sum(row.cents for row in self.liabilities)

    @property
    def equity_cents(self) -> int:
        return sum(row.cents for row in self.equity)

    @property
    def balanced(self) -> bool:
        return self.assets_cents == self.liabilities_cents + self.equity_cents

    def sections(self) -> list[tuple[str, list[SheetRow], int]]:
        return [
            ("Assets", self.assets, self.assets_cents),
            ("Liabilities", self.liabilities, self.liabilities_cents),
            ("Equity", self.equity, self.equity_cents),
        ]


def balance_sheet(as_of: date) -> BalanceSheet:
    """Assets = liabilities + equity as of a day. Revenue and expense not yet moved to retained
    earnings by a year-end close show as "Net income, current year" (this fiscal year's) and
    "Earnings of earlier years not closed". One query over the lines, one for the accounts."""
    year_start = as_of.replace(month=1, day=1)
    rows = (
        lines_as_of(as_of)
        .order_by()
        .values_list("account_id")
        .annotate(
            net=Sum("amount_cents"),
            this_year=Coalesce(Sum("amount_cents", filter=Q(date__gte=year_start)), 0),
        )
    )
    nets = {account_id: (int(net), int(this_year)) for account_id, net, this_year in rows}
    accounts = Account.objects.in_bulk(list(nets))
    assets: list[SheetRow] = []
    liabilities: list[SheetRow] = []
    equity: list[SheetRow] = []
    current = earlier = 0
    for account_id, (net, this_year) in sorted(nets.items(), key=lambda i: accounts[i[0]].code):
        account = accounts[account_id]
        if account.type == AccountType.ASSET:
            assets.append(SheetRow(str(account), net, account))
        elif account.type == AccountType.LIABILITY:
            liabilities.append(SheetRow(str(account), -net, account))
        elif account.type == AccountType.EQUITY:
            equity.append(SheetRow(str(account), -net, account))
        else:
            current -= this_year
            earlier -= net - this_year
    assets = [row for row in assets if row.cents]
    liabilities = [row for row in liabilities if row.cents]
    equity = [row for row in equity if row.cents]
    if earlier:
        equity.append(SheetRow("Earnings of earlier years not closed", earlier))
    equity.append(SheetRow(f"Net income, {as_of.year} to date", current))
    return BalanceSheet(as_of=as_of, assets=assets, liabilities=liabilities, equity=equity)


# --- A patient account's activity -------------------------------------------------------------


@dataclass(frozen=True)
class ActivityLine:
    date: date
    entry_id: int
    source: str
    memo: str
    account: str
    amount_cents: int  # what it does to what the patient owes: a charge +, a payment -
    balance_cents: int
    source_text: str = ""
    source_url: str = ""

    @property
    def charge(self) -> Decimal | None:
        return to_dollars(self.amount_cents) if self.amount_cents > 0 else None

    @property
    def payment(self) -> Decimal | None:
        return to_dollars(-self.amount_cents) if self.amount_cents < 0 else None

    @property
    def balance(self) -> Decimal:
        return to_dollars(self.balance_cents)


@dataclass(frozen=True)
class PatientActivity:
    patient_id: int
    since: date | None
    until: date | None
    opening_cents: int
    lines: list[ActivityLine]
    balance_cents: int  # at the end of the range
    count: int

    @property
    def opening(self) -> Decimal:
        return to_dollars(self.opening_cents)

    @property
    def balance(self) -> Decimal:
        return to_dollars(self.balance_cents)

    @property
    def truncated(self) -> bool:
        return self.count > len(self.lines)


def patient_activity(
    patient_id: int,
    *,
    since: date | None = None,
    until: date | None = None,
    limit: int = STATEMENT_LIMIT,
) -> PatientActivity:
    """Each line on the patient's account (patient A/R and unapplied payments) with what the
    patient owes after it: positive owes, negative is money paid ahead. At most `limit` lines
    (the newest); what comes before them is carried in the opening balance."""
    mine = JournalLine.objects.filter(patient_id=patient_id, account__key__in=PATIENT_ACCOUNT_KEYS)
    before = 0
    if since is not None:
        before = _sum(mine.filter(date__lt=since))
    in_range = mine
    if since is not None:
        in_range = in_range.filter(date__gte=since)
    if until is not None:
        in_range = in_range.filter(date__lte=until)
    total = in_range.aggregate(n=Count("id"), net=Coalesce(Sum("amount_cents"), 0))
    count = int(total["n"] or 0)
    skip = max(count - limit, 0)
    rows = (
        _running(in_range)
        .select_related("entry", "account")
        .only("date", "amount_cents", "memo", "entry__source_key", "entry__memo", "account__name")[
            skip:
        ]
    )
    fetched = list(rows)
    labels = sources.describe_keys(row.entry.source_key for row in fetched)
    lines = [
        ActivityLine(
            date=row.date,
            entry_id=row.entry_id,
            source=row.entry.source_key,
            source_text=labels[row.entry.source_key].text,
            source_url=labels[row.entry.source_key].url,
            memo=row.memo or row.entry.memo,
            account=row.account.name,
            amount_cents=row.amount_cents,
            balance_cents=before + int(row.running),  # type: ignore[attr-defined]
        )
        for row in fetched
    ]
    opening = lines[0].balance_cents - lines[0].amount_cents if lines else before
    return PatientActivity(
        patient_id=patient_id,
        since=since,
        until=until,
        opening_cents=opening,
        lines=lines,
        balance_cents=before + int(total["net"]),
        count=count,
    )
