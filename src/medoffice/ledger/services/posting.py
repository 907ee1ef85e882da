"""Writing to the books: the one posting API every app uses, reversals, and closing periods.

`post()` takes a source (the event that moved the money), a date and lines, checks them,
and writes one balanced entry in the caller's transaction, so the money event and its
entry commit or fail together. The source's key is unique: posting the same event again
(a retry, a second import of a file, a race of two workers) returns the first entry and
writes nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from medoffice.core import audit, capture, money
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition
from medoffice.core.formats import us_date
from medoffice.core.models import AuditAction
from medoffice.ledger import chart
from medoffice.ledger.models import (
    Account,
    EntryKind,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    PeriodStatus,
    Side,
    to_dollars,
)
from medoffice.ledger.selectors import PAYER_AR_PREFIX

if TYPE_CHECKING:
    from medoffice.core.models import Location, Provider, User
    from medoffice.patients.models import Patient, Payer

MAX_LINES = 500  # an entry longer than this is an import's job, split into entries
# No entry is dated before this, nor more than POST_AHEAD after today: a date outside is a
# typing mistake (1900, 2199), and it would make a month to close before any real one.
EARLIEST_POSTING = date(2000, 1, 1)
POST_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Line:
    """One side of an entry: a debit or a credit (exactly one of them more than zero)."""

    account: Account | str  # the account, or its key ("patient_ar", "cash_drawer:3")
    debit: Decimal | int | str = 0
    credit: Decimal | int | str = 0
    location: Location | None = None
    provider: Provider | None = None
    patient: Patient | None = None  # the patient account a patient A/R or unapplied line is on
    memo: str = ""


@dataclass(frozen=True)
class Posting:
    """A money event's entry: where it came from, its date and its lines."""

    source_type: str  # "reception.payment"
    source_id: str | int
    date: date
    lines: Sequence[Line]
    memo: str = ""
    event: str = ""  # tells apart several entries of one source: "void", "refund"
    kind: str = EntryKind.EVENT
    location: Location | None = None
    reverses: JournalEntry | None = field(default=None, compare=False)

    @property
    def source_key(self) -> str:
        key = f"{self.source_type}:{self.source_id}"
        return f"{key}:{self.event}" if self.event else key


# --- Accounts -----------------------------------------------------------------------------------


def _create_from_template(template: chart.AccountTemplate) -> Account:
    parent = account_by_key(template.parent) if template.parent else None
    side = Side.DEBIT if template.type in ("asset", "expense") else Side.CREDIT
    if template.contra:
        side = Side.CREDIT if side == Side.DEBIT else Side.DEBIT
    account, _ = Account.objects.get_or_create(
        key=template.key,
        defaults={
            "code": template.code,
            "name": template.name,
            "type": template.type,
            "normal_side": side,
            "parent": parent,
            "description": template.description,
            "is_postable": template.postable and not template.per_location,
        },
    )
    return account


def ensure_chart() -> int:
    """Create the template's accounts that are missing (by key); the practice's edits stay."""
    known = set(Account.objects.filter(key__isnull=False).values_list("key", flat=True))
    made = 0
    for template in chart.CHART:
        if template.key not in known:
            _create_from_template(template)
            made += 1
    return made


def account_by_key(key: str) -> Account:
    account = Account.objects.filter(key=key).first()
    if account is not None:
        return account
    template = chart.BY_KEY.get(key)
    if template is None:
        raise InvalidInput(f"No account has the key {key!r}.", field="account")
    return _create_from_template(template)


def account_for(key: str, *, location: Location | None = None) -> Account:
    """The account doing a job; a per-location job ("cash_drawer") gets the location's own,
    made the first time anything posts there."""
    template = chart.BY_KEY.get(key)
    if template is None or not template.per_location:
        return account_by_key(key)
    if location is None:
        raise InvalidInput(f"{template.name}: say which location.", field="location")
    return _sub_account(
        key,
        key=f"{key}:{location.pk}",
        code_suffix=f"{location.pk:02d}",
        name=f"{template.name.removesuffix('s')}: {location.name}",
        whose=f"the {template.name.lower().removesuffix('s')} at {location.name}",
        location=location,
        description=template.description,
    )


def _sub_account(
    parent_key: str, *, key: str, code_suffix: str, name: str, whose: str, **fields: Any
) -> Account:
    """A job's own sub-account (`key`) under the account `parent_key`, made the first time
    anything posts to it: once, even from concurrent postings (the key is unique); a code
    another account holds is a Conflict naming it, never a failed posting with no words."""
    account = Account.objects.filter(key=key).first()
    if account is not None:
        return account
    parent = account_by_key(parent_key)
    code = f"{parent.code}-{code_suffix}"
    try:
        with transaction.atomic():
            return Account.objects.create(
                key=key,
                code=code,
                name=name[:120],
                type=parent.type,
                normal_side=parent.normal_side,
                parent=parent,
                **fields,
            )
    except IntegrityError:  # another posting made it first, or the code is someone's
        found = Account.objects.filter(key=key).first()
        if found is None:
            raise Conflict(
                f"The account code {code} for {whose} is taken by another account; give that "
                "account another code in the chart of accounts.",
                field="account",
            ) from None
        return found


PAYER_AR = "insurance_ar"


def payer_account(payer: Payer) -> Account:
    """A payer's own insurance A/R sub-account (`insurance_ar:payer:<id>`), made the first time
    anything posts for that payer: what each payer owes is its own balance, and claims and
    remittances post to it by the payer, never by a code typed in."""
    return _sub_account(
        PAYER_AR,
        key=f"{PAYER_AR_PREFIX}{payer.pk}",
        code_suffix=f"P{payer.pk:04d}",
        name=f"Insurance A/R: {payer.name}",
        whose=f"{payer.name}'s insurance A/R",
        description=f"what {payer.name} owes"[:300],
    )


# --- Posting ------------------------------------------------------------------------------------


def to_cents(value: Decimal | int | str, *, field: str) -> int:
    """Dollars and cents (the project's money parser; zero allowed) as whole cents."""
    if value in (0, "0", "", None):
        return 0
    amount = money.parse_money(value, field=field, minimum=money.ZERO)
    return int(amount * 100)


@dataclass(slots=True)
class _Row:
    """A checked line, ready to write (plain values: a batch holds many thousands)."""

    account: Account
    amount_cents: int
    location_id: int | None
    provider_id: int | None
    patient_id: int | None
    memo: str


@dataclass
class _Checked:
    posting: Posting
    rows: list[_Row]
    total: int


def _resolve(
    account: Account | str, location: Location | None, cache: dict[Any, Account]
) -> Account:
    if isinstance(account, Account):
        return account
    cache_key = (account, location.pk if location is not None else None)
    if cache_key not in cache:
        base, _, suffix = account.partition(":")
        template = chart.BY_KEY.get(base)
        if template is not None and template.per_location and not suffix:
            cache[cache_key] = account_for(base, location=location)
        else:
            cache[cache_key] = account_by_key(account)
    return cache[cache_key]


def latest_posting_day() -> date:
    return timezone.localdate() + POST_AHEAD


def _check(posting: Posting, cache: dict[Any, Account], *, latest: date) -> _Checked:
    if not posting.source_type or "." not in posting.source_type:
        raise InvalidInput(
            "source: name the app and record, such as reception.payment.", field="source"
        )
    if len(posting.source_key) > 160:
        raise InvalidInput("source: the source key is too long.", field="source")
    if not isinstance(posting.date, date):
        raise InvalidInput("date: give the entry's date.", field="date")
    if not EARLIEST_POSTING <= posting.date <= latest:
        raise InvalidInput(
            f"date: {us_date(posting.date)} is outside the books: entries are dated between "
            f"{us_date(EARLIEST_POSTING)} and {us_date(latest)}.",
            field="date",
        )
    lines = list(posting.lines)
    if len(lines) < 2:
        raise InvalidInput("lines: an entry needs at least two lines.", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"lines: at most {MAX_LINES} lines in one entry.", field="lines")
    rows = []
    for number, line in enumerate(lines, start=1):
        where = f"lines.{number}"
        debit = to_cents(line.debit, field=f"{where}.debit")
        credit = to_cents(line.credit, field=f"{where}.credit")
        if (debit > 0) == (credit > 0):
            raise InvalidInput(
                f"Line {number}: give a debit or a credit (one of them, more than zero).",
                field=where,
            )
        account = _resolve(line.account, line.location or posting.location, cache)
        if not account.is_active or not account.is_postable:
            state = "inactive" if not account.is_active else "a heading (post to one under it)"
            raise InvalidInput(f"Line {number}: account {account} is {state}.", field=where)
        place = line.location or posting.location
        rows.append(
            _Row(
                account=account,
                amount_cents=debit - credit,
                location_id=place.pk if place is not None else None,
                provider_id=line.provider.pk if line.provider is not None else None,
                patient_id=line.patient.pk if line.patient is not None else None,
                memo=line.memo[:120],
            )
        )
    debits = sum(row.amount_cents for row in rows if row.amount_cents > 0)
    credits = -sum(row.amount_cents for row in rows if row.amount_cents < 0)
    if debits != credits:
        raise InvalidInput(
            f"lines: debits {money_text(debits)} and credits {money_text(credits)} do not balance.",
            field="lines",
        )
    return _Checked(posting, rows, debits)


def money_text(cents: int) -> str:
    return f"${to_dollars(cents):,.2f}"


def closed_period_for(day: date) -> FiscalPeriod | None:
    """The closed month that holds `day`, or, for a day before the first closed month, that
    month: months close in order, so the books are closed through the latest closed month
    (a month before the first posting, never closed itself, is closed with it). None when
    `day` is after every closed month."""
    return (
        FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED, end__gte=day)
        .order_by("start")
        .first()
    )


def closed_words(day: date, closed: FiscalPeriod) -> str:
    """Why `day` takes no postings, in words: its month is closed, or a later one is."""
    if day >= closed.start:
        return f"{closed.label} is closed"
    return f"{day:%m/%d/%Y} is before {closed.label}, which is closed (months close in order)"


def _month(day: date) -> tuple[date, date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def _hold_periods_open(days: Iterable[date]) -> None:
    """Refuse a date in a closed period; on PostgreSQL, hold each month open (a shared row
    lock) until this transaction ends, so a close cannot slip in between check and commit."""
    days = sorted(set(days))
    months = sorted({_month(day) for day in days})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for start, end in months:
                cursor.execute(
                    "INSERT INTO ledger_fiscalperiod (start, \"end\", status) VALUES (%s, %s, 'open') "
                    "ON CONFLICT (start) DO NOTHING",
                    [start, end],
                )
            cursor.execute(
                "SELECT start FROM ledger_fiscalperiod WHERE start = ANY(%s) FOR SHARE",
                [[start for start, _ in months]],
            )
    if not months:
        return
    # The books are closed through the latest closed month: when any of these months is
    # closed, the earliest is, so one look at it answers for them all.
    closed = closed_period_for(months[0][0])
    if closed is not None:
        raise InvalidInput(
            f"{closed_words(days[0], closed)}; post into an open period, "
            "or ask the owner to reopen it.",
            field="date",
        )


def _allocate_ids(count: int) -> list[int]:
    """Entry ids known before the entries are written: lines go in first (see guards)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) "
                "FROM generate_series(1, %s)",
                [count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: this transaction holds the only write lock (transaction_mode IMMEDIATE).
        cursor.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ledger_journalentry'), 0),"
            " coalesce((SELECT max(id) FROM ledger_journalentry), 0))"
        )
        start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + count))


_LINE_COLUMNS = (
    "entry_id", "account_id", "date", "amount_cents", "location_id", "provider_id", "patient_id",
    "memo",
)  # fmt: skip
_ENTRY_COLUMNS = (
    "id", "date", "kind", "memo", "source_type", "source_id", "source_key", "total_cents",
    "reverses_id", "location_id", "posted_at", "posted_by_id",
)  # fmt: skip
_ROWS_PER_INSERT = 500


def _insert(cursor: Any, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Multi-row INSERTs of plain values (the ORM's per-object work is most of a batch's time;
    these rows are checked already, and the guards check them again in the database)."""
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608 (constant names)
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        params = [value for row in chunk for value in row]
        cursor.execute(head + ", ".join([one] * len(chunk)), params)


def _write(checked: list[_Checked], actor: User | None) -> list[JournalEntry]:
    """Lines first, then their entries (see guards). One entry is saved through the ORM (its
    own audit event); a batch is written with plain INSERTs and counted in the caller's unit."""
    ids = _allocate_ids(len(checked))
    now = timezone.now()
    posted_by = actor if actor is not None and actor.is_authenticated else None
    posted_by_id = posted_by.pk if posted_by is not None else None
    ops = connection.ops
    entries = []
    days: dict[date, Any] = {}  # each date adapted once (a batch has few, many times over)
    entry_days = []
    line_rows: list[tuple] = []
    for entry_id, item in zip(ids, checked, strict=True):
        posting = item.posting
        day = days.get(posting.date)
        if day is None:
            day = days[posting.date] = ops.adapt_datefield_value(posting.date)
        entry_days.append(day)
        line_rows.extend(
            (entry_id, row.account.pk, day, row.amount_cents, row.location_id, row.provider_id,
             row.patient_id, row.memo)
            for row in item.rows
        )  # fmt: skip
        entries.append(
            {
                "id": entry_id,
                "date": posting.date,
                "kind": posting.kind,
                "memo": posting.memo[:200],
                "source_type": posting.source_type,
                "source_id": str(posting.source_id),
                "source_key": posting.source_key,
                "total_cents": item.total,
                "reverses_id": posting.reverses.pk if posting.reverses is not None else None,
                "location_id": posting.location.pk if posting.location is not None else None,
                "posted_at": now,
                "posted_by_id": posted_by_id,
            }
        )
    with connection.cursor() as cursor:
        _insert(cursor, JournalLine._meta.db_table, _LINE_COLUMNS, line_rows)
        if len(entries) == 1:
            one = JournalEntry(**entries[0])
            one.save(force_insert=True)
            return [one]
        at = ops.adapt_datetimefield_value(now)
        entry_rows = [
            (v["id"], day, v["kind"], v["memo"], v["source_type"], v["source_id"],
             v["source_key"], v["total_cents"], v["reverses_id"], v["location_id"], at,
             posted_by_id)
            for v, day in zip(entries, entry_days, strict=True)
        ]  # fmt: skip
        _insert(cursor, JournalEntry._meta.db_table, _ENTRY_COLUMNS, entry_rows)
    unit = capture.current_unit()
    if unit is not None:
        unit.count_rows(JournalEntry, "created", len(entries))
    return [_as_written(values) for values in entries]


def _as_written(values: dict[str, Any]) -> JournalEntry:
    """The entry object for a row the batch wrote, made as Django makes one read back from the
    database, without `__init__`'s work per field (a batch returns thousands). A column not in
    `values` would load on first use, like a deferred field."""
    entry = JournalEntry.__new__(JournalEntry)
    entry.__dict__.update(values)
    entry._state = ModelState()
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def _same(entry: JournalEntry, item: _Checked) -> bool:
    found = sorted(entry.lines.values_list("account_id", "amount_cents"))
    wanted = sorted((row.account.pk, row.amount_cents) for row in item.rows)
    return found == wanted and entry.date == item.posting.date


def _existing(item: _Checked) -> JournalEntry:
    entry = JournalEntry.objects.get(source_key=item.posting.source_key)
    if not _same(entry, item):
        raise Conflict(
            f"{item.posting.source_key} is already posted (entry {entry.pk}) with other lines or "
            "another date; post a correction as its own event.",
            field="source",
        )
    return entry


@transaction.atomic
@binds_actor("actor")
def post(posting: Posting, *, actor: User | None) -> JournalEntry:
    """Write the entry for one money event, once: a repeat returns the entry already written
    (and is refused if its lines differ)."""
    item = _check(posting, {}, latest=latest_posting_day())
    already = JournalEntry.objects.filter(source_key=posting.source_key).first()
    if already is not None:
        return _existing(item)
    _hold_periods_open([posting.date])
    try:
        with transaction.atomic():
            return _write([item], actor)[0]
    except IntegrityError:
        if JournalEntry.objects.filter(source_key=posting.source_key).exists():
            return _existing(item)  # a concurrent post of the same event won
        raise


@transaction.atomic
@binds_actor("actor")
def post_many(postings: Sequence[Posting], *, actor: User | None) -> list[JournalEntry]:
    """Write many entries in one go (an import, a pay run): all or none, one audit event.

    Entries already posted (by source key) are returned as they are; the rest are written.
    """
    cache: dict[Any, Account] = {}
    latest = latest_posting_day()
    checked = [_check(posting, cache, latest=latest) for posting in postings]
    keys = [item.posting.source_key for item in checked]
    if len(set(keys)) != len(keys):
        raise InvalidInput("source: the same source appears twice in one batch.", field="source")
    existing = {
        e.source_key: e
        for start in range(0, len(keys), 5000)
        for e in JournalEntry.objects.filter(source_key__in=keys[start : start + 5000])
    }
    fresh = [item for item in checked if item.posting.source_key not in existing]
    if fresh:
        _hold_periods_open({item.posting.date for item in fresh})
        with audit.unit(
            AuditAction.CREATE,
            actor=_unit_actor(actor),
            what="ledger.batch",
            description=f"{len(fresh)} journal entries",
            counts={"entries": len(fresh), "lines": sum(len(item.rows) for item in fresh)},
            totals={"debits": to_dollars(sum(item.total for item in fresh))},
        ):
            written = {e.source_key: e for e in _write(fresh, actor)}
    else:
        written = {}
    return [existing.get(key) or written[key] for key in keys]


def _unit_actor(actor: User | None) -> Any:
    from medoffice.core.context import actor_for_service, current_actor

    return actor_for_service(actor) if actor is not None else current_actor()


@transaction.atomic
@binds_actor("actor")
def reverse(
    entry: JournalEntry,
    *,
    actor: User | None,
    on: date | None = None,
    memo: str = "",
    source_type: str | None = None,
    source_id: str | int | None = None,
    event: str = "reversal",
) -> JournalEntry:
    """The correction of a posted entry: the same lines, sides swapped, linked to it. An entry
    is reversed at most once; reversing it again returns the reversal."""
    if entry.kind == EntryKind.REVERSAL:
        raise InvalidTransition("A reversal is not reversed; post the entry again instead.")
    earlier = JournalEntry.objects.filter(reverses=entry).first()
    if earlier is not None:
        return earlier
    lines = [
        Line(
            account=line.account,
            debit=to_dollars(-line.amount_cents) if line.amount_cents < 0 else 0,
            credit=to_dollars(line.amount_cents) if line.amount_cents > 0 else 0,
            location=line.location,
            provider=line.provider,
            patient=line.patient,
            memo=line.memo,
        )
        for line in entry.lines.select_related("account", "location", "provider", "patient")
    ]
    posting = Posting(
        source_type=source_type or entry.source_type,
        source_id=source_id if source_id is not None else entry.source_id,
        date=on or timezone.localdate(),
        lines=lines,
        memo=(memo or f"Reverses entry {entry.pk}")[:200],
        event=event,
        kind=EntryKind.REVERSAL,
        location=entry.location,
        reverses=entry,
    )
    if source_type is None and posting.source_key == entry.source_key:
        raise InvalidInput("event: a reversal needs its own event name.", field="event")
    return post(posting, actor=actor)
