"""The books for the outside accountant: a CSV journal, QuickBooks Desktop IIF and a
plain-text Beancount file, and each report as CSV.

Exports stream: the lines are read in chunks from the database in entry order, so the
memory used does not grow with the books. Dates are ISO in CSV (as everywhere in the app),
MM/DD/YYYY in IIF (as QuickBooks reads them) and ISO in Beancount.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Min, QuerySet

from medoffice.core.exports import csv_cell
from medoffice.ledger import reports
from medoffice.ledger.models import Account, AccountType, EntryKind, JournalLine, to_dollars
from medoffice.ledger.selectors import TrialBalance

CHUNK = 2000

JOURNAL_COLUMNS = ("entry_id", "date", "source", "account_code", "account_name", "debit",
                   "credit", "memo")  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """Numbers as they are (a credit may be negative); text kept from running as a formula."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return csv_cell(value)


def csv_rows(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def _money(cents: int | None) -> Decimal | None:
    return to_dollars(cents) if cents else None


def journal_lines(since: date | None = None, until: date | None = None) -> QuerySet[JournalLine]:
    lines = JournalLine.objects.order_by("entry_id", "id")
    if since is not None:
        lines = lines.filter(date__gte=since)
    if until is not None:
        lines = lines.filter(date__lte=until)
    return lines


@dataclass(frozen=True)
class _Row:
    entry_id: int
    date: date
    source: str
    account_id: int
    code: str
    name: str
    cents: int
    memo: str  # the line's, else the entry's
    entry_memo: str
    kind: str


def _rows(since: date | None, until: date | None) -> Iterator[_Row]:
    """The lines in entry order as plain tuples (no model instances: an export is big)."""
    columns = ("entry_id", "date", "entry__source_key", "account_id", "account__code",
               "account__name", "amount_cents", "memo", "entry__memo", "entry__kind")  # fmt: skip
    for values in journal_lines(since, until).values_list(*columns).iterator(chunk_size=CHUNK):
        entry_id, day, source, account_id, code, name, cents, memo, entry_memo, kind = values
        yield _Row(entry_id, day, source, account_id, code, name, cents, memo or entry_memo,
                   entry_memo, kind)  # fmt: skip


def journal_csv(since: date | None = None, until: date | None = None) -> Iterator[str]:
    """One row per line: entry id, date, source, account code and name, debit, credit, memo."""

    def rows() -> Iterator[list[Any]]:
        yield list(JOURNAL_COLUMNS)
        for row in _rows(since, until):
            yield [
                row.entry_id, row.date, row.source, row.code, row.name,
                _money(max(row.cents, 0)), _money(max(-row.cents, 0)), row.memo,
            ]  # fmt: skip

    return csv_rows(rows())


# --- QuickBooks Desktop IIF -------------------------------------------------------------------

IIF_TYPES = {
    AccountType.ASSET: "OCASSET",
    AccountType.LIABILITY: "OCLIAB",
    AccountType.EQUITY: "EQUITY",
    AccountType.REVENUE: "INC",
    AccountType.EXPENSE: "EXP",
}
IIF_BANK_KEYS = ("bank_operating", "bank_payroll")


def _iif_text(value: str) -> str:
    """No tabs, line breaks or quotes inside a field (IIF has no escaping)."""
    return re.sub(r"\s+", " ", re.sub(r"[\t\r\n\"]+", " ", value)).strip()


IIF_NAME_LIMIT = 31  # characters QuickBooks Desktop keeps of each level of an account's name


def _iif_own_names(accounts: Iterable[Account]) -> dict[int, str]:
    """Each account's own name as QuickBooks takes it: at most 31 characters, and never the
    same as a sibling's (QuickBooks would merge the two). A name cut short that would read as
    another's keeps its account code at the end instead ("Insurance A/R - Blue (1200-P0003)");
    a name that fits stays as it is, so the names the accountant knows do not change."""
    siblings: dict[int | None, list[Account]] = {}
    for account in accounts:
        siblings.setdefault(account.parent_id, []).append(account)
    names: dict[int, str] = {}
    for group in siblings.values():
        group.sort(key=lambda account: account.code)
        whole = {a.pk: _iif_text(a.name.replace(":", " -")) for a in group}
        cut = {pk: name[:IIF_NAME_LIMIT].rstrip() for pk, name in whole.items()}
        seen: dict[str, int] = {}
        for name in cut.values():
            seen[name.casefold()] = seen.get(name.casefold(), 0) + 1
        taken: set[str] = set()
        for account in group:
            name = cut[account.pk]
            was_cut = len(whole[account.pk]) > IIF_NAME_LIMIT
            if (was_cut and seen[name.casefold()] > 1) or name.casefold() in taken:
                name = _iif_with_code(whole[account.pk], account.code)
            tries = 1
            while name.casefold() in taken:  # only when a code itself reads as another's name
                tries += 1
                name = _iif_with_code(whole[account.pk], f"{account.code}.{tries}")
            taken.add(name.casefold())
            names[account.pk] = name
    return names


def _iif_with_code(name: str, code: str) -> str:
    suffix = f" ({_iif_text(code).replace(':', '-')})"
    return name[: max(IIF_NAME_LIMIT - len(suffix), 1)].rstrip() + suffix[-IIF_NAME_LIMIT + 1 :]


def iif_account_names(accounts: Iterable[Account]) -> dict[int, str]:
    """Each account's QuickBooks name: its headings' names and its own, joined by ':' (how
    QuickBooks names sub-accounts); a colon inside a name becomes ' -'. Each level is at most
    31 characters and no two accounts share a name (see _iif_own_names)."""
    by_id = {account.pk: account for account in accounts}
    own = _iif_own_names(by_id.values())

    def full(account: Account) -> str:
        parts: list[str] = []
        seen: set[int] = set()
        cursor: Account | None = account
        while cursor is not None and cursor.pk not in seen:
            seen.add(cursor.pk)
            parts.append(own[cursor.pk])
            cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
        return ":".join(reversed(parts))

    return {pk: full(account) for pk, account in by_id.items()}


def _iif_type(account: Account) -> str:
    if account.key in IIF_BANK_KEYS:
        return "BANK"
    if account.key == "accounts_payable":
        return "AP"
    if account.key == "accumulated_depreciation" or account.key == "equipment":
        return "FIXASSET"
    return IIF_TYPES[AccountType(account.type)]


def journal_iif(since: date | None = None, until: date | None = None) -> Iterator[str]:
    """The chart (!ACCNT) then one GENERAL JOURNAL transaction per entry: its first line as
    TRNS, the others as SPL, then ENDTRNS. Debits are positive amounts, credits negative."""
    accounts = list(Account.objects.order_by("code"))
    names = iif_account_names(accounts)
    yield "!ACCNT\tNAME\tACCNTTYPE\tACCNUM\tDESC\r\n"
    for account in sorted(accounts, key=lambda a: names[a.pk].count(":")):
        description = _iif_text(account.description)
        yield f"ACCNT\t{names[account.pk]}\t{_iif_type(account)}\t{account.code}\t{description}\r\n"
    header = "TRNSID\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO"
    yield f"!TRNS\t{header}\r\n!SPL\tSPLID\t{header.split(chr(9), 1)[1]}\r\n!ENDTRNS\r\n"
    current: int | None = None
    for row in _rows(since, until):
        first = row.entry_id != current
        if first and current is not None:
            yield "ENDTRNS\r\n"
        current = row.entry_id
        memo = _iif_text(row.memo)[:200]
        kind = "TRNS" if first else "SPL"
        yield (
            f"{kind}\t\tGENERAL JOURNAL\t{row.date:%m/%d/%Y}\t{names[row.account_id]}\t"
            f"{to_dollars(row.cents)}\tJE{row.entry_id}\t{memo}\r\n"
        )
    if current is not None:
        yield "ENDTRNS\r\n"


# --- Beancount --------------------------------------------------------------------------------

BEANCOUNT_ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.REVENUE: "Income",
    AccountType.EXPENSE: "Expenses",
}


def beancount_name(account: Account) -> str:
    """Root:Name-Code, the name reduced to Beancount's account syntax (ASCII letters, digits
    and dashes, each word capitalised); the code keeps two accounts of one name apart."""
    ascii_name = unicodedata.normalize("NFKD", account.name).encode("ascii", "ignore").decode()
    words = [word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", ascii_name)]
    code = re.sub(r"[^A-Za-z0-9]+", "-", account.code).strip("-")
    component = "-".join([*words, code] if words else ["Account", code])
    return f"{BEANCOUNT_ROOTS[AccountType(account.type)]}:{component}"


def _quoted(value: str) -> str:
    text = re.sub(r"[\r\n\t]+", " ", value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def journal_beancount(
    since: date | None = None, until: date | None = None, *, title: str = "medoffice"
) -> Iterator[str]:
    """Options, an `open` for every account (dated the first posting), and one balanced
    transaction per entry, its postings in USD."""
    accounts = list(Account.objects.order_by("code"))
    names = {account.pk: beancount_name(account) for account in accounts}
    first = journal_lines(since, until).aggregate(first=Min("date"))["first"] or date(2000, 1, 1)
    yield f'option "title" {_quoted(title)}\noption "operating_currency" "USD"\n\n'
    for account in accounts:
        yield f"{first.isoformat()} open {names[account.pk]} USD\n"
    current: int | None = None
    kinds = dict(EntryKind.choices)
    for row in _rows(since, until):
        if row.entry_id != current:
            current = row.entry_id
            narration = row.entry_memo or str(kinds.get(row.kind, row.kind))
            yield (
                f"\n{row.date.isoformat()} * {_quoted(row.source)} {_quoted(narration)}\n"
                f'  entry: "{row.entry_id}"\n'
            )
        yield f"  {names[row.account_id]}  {to_dollars(row.cents)} USD\n"


# --- The reports as CSV -----------------------------------------------------------------------


def trial_balance_csv(balance: TrialBalance) -> Iterator[str]:
    rows: list[list[Any]] = [["account_code", "account_name", "type", "debit", "credit"]]
    for row in balance.rows:
        rows.append([
            row.account.code, row.account.name, row.account.type,
            _money(row.debit_cents), _money(row.credit_cents),
        ])  # fmt: skip
    rows.append(["", "Total", "", balance.total_debit, balance.total_credit])
    return csv_rows(rows)


def account_detail_csv(detail: reports.AccountDetail) -> Iterator[str]:
    rows: list[list[Any]] = [
        ["date", "entry_id", "source", "memo", "location", "provider", "debit", "credit",
         "balance"],
        [detail.since, "", "", "Opening balance", "", "", None, None, detail.opening],
    ]  # fmt: skip
    for line in detail.lines:
        rows.append([
            line.date, line.entry_id, line.source, line.memo, line.location, line.provider,
            line.debit, line.credit, line.balance,
        ])  # fmt: skip
    if detail.has_more:
        left = detail.count - detail.offset - len(detail.lines)
        rows.append(["", "", "", f"{left} more lines not shown: choose a shorter range"])
    return csv_rows(rows)


def income_statement_csv(statement: reports.IncomeStatement) -> Iterator[str]:
    keys = [key.isoformat() if isinstance(key, date) else label for key, label in statement.columns]
    rows: list[list[Any]] = [["section", "account", *keys, "total"]]
    for section, lines, totals, total in statement.table():
        for words, cells, line_total in lines:
            rows.append([section, words, *map(to_dollars, cells), to_dollars(line_total)])
        rows.append([section, f"Total {section.lower()}", *map(to_dollars, totals),
                     to_dollars(total)])  # fmt: skip
    net = statement.net_totals
    rows.append(["", "Net income", *(to_dollars(net[k]) for k, _ in statement.columns),
                 to_dollars(statement.net_income_cents)])  # fmt: skip
    return csv_rows(rows)


def balance_sheet_csv(sheet: reports.BalanceSheet) -> Iterator[str]:
    rows: list[list[Any]] = [["section", "line", "amount"]]
    for section, lines, total in sheet.sections():
        for line in lines:
            rows.append([section, line.label, line.amount])
        rows.append([section, f"Total {section.lower()}", to_dollars(total)])
    rows.append(
        ["", "Liabilities and equity", to_dollars(sheet.liabilities_cents + sheet.equity_cents)]
    )
    return csv_rows(rows)


def patient_activity_csv(activity: reports.PatientActivity) -> Iterator[str]:
    rows: list[list[Any]] = [
        ["date", "entry_id", "source", "account", "memo", "charge", "payment", "balance"],
        [activity.since, "", "", "", "Opening balance", None, None, activity.opening],
    ]
    for line in activity.lines:
        rows.append([
            line.date, line.entry_id, line.source, line.account, line.memo, line.charge,
            line.payment, line.balance,
        ])  # fmt: skip
    return csv_rows(rows)
