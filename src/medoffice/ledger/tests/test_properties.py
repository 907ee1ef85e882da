"""The books hold whatever happens to them: random sequences of money events, checked after each.

Hypothesis draws a sequence of operations (postings of random balanced lines over random
accounts, patients and locations; the same source posted again; reversals; manual entries;
months closed in order and reopened by the owner; year-end closes) and runs it against the
real services on the test database. After every step and at the end:

- every entry balances (its lines sum to zero, by SQL per entry);
- the trial balance nets to zero;
- each patient's account balance (`selectors.patient_account_cents`) equals the sum of that
  patient's lines on the patient accounts, and what the sequence posted for them;
- a manual entry posts at once within the preparer's limit, on approval above it, never
  when rejected;
- a posting dated in a closed month is refused and leaves no rows, and a closed month's
  lines are exactly those it had when it closed.

Each example runs in a savepoint that is rolled back, so examples do not see each other. On
PostgreSQL the deferred line checks are forced (`SET CONSTRAINTS ALL IMMEDIATE`) before the
rollback, so the commit-time guard runs too.

Other money operations join by adding to `OPERATIONS` (a strategy drawing the operation's
arguments and a function applying it to the `Books` under test); see `register`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from medoffice.core.exceptions import MedofficeError
from medoffice.core.services import approval_decide
from medoffice.ledger import selectors, services
from medoffice.ledger.models import (
    Account,
    AccountType,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    ManualEntry,
    ManualEntryStatus,
    PeriodStatus,
)
from medoffice.ledger.services import Line, ManualLine, Posting
from medoffice.testing import factories, patients_factories

pytestmark = pytest.mark.django_db

FIRST = dt.date(2025, 1, 1)
LAST = dt.date(2026, 6, 30)
PATIENT_KEYS = ("patient_ar", "unapplied_patient")
KEYS = (
    "bank_operating", "card_clearing", "cash_drawer", "patient_ar", "unapplied_patient",
    "refunds_payable", "revenue:office_visits", "revenue:procedures", "supplies_expense",
    "bad_debt",
)  # fmt: skip
CODES: dict[str, str] = {}  # account codes by key, read when the test starts
EXAMPLES = 20
STEPS = 12


@dataclass
class Books:
    """The world one example runs in, and what the sequence expects of the books."""

    manager: Any
    owner: Any
    patients: list[Any]
    locations: list[Any]
    posted: list[Posting] = field(default_factory=list)
    patient_cents: dict[int, int] = field(default_factory=dict)
    counter: int = 0

    def next_id(self) -> int:
        self.counter += 1
        return self.counter


Operation = tuple[str, Any]
Apply = Callable[[Books, Any], None]
OPERATIONS: dict[str, tuple[st.SearchStrategy[Any], Apply]] = {}


def register(name: str, strategy: st.SearchStrategy[Any]) -> Callable[[Apply], Apply]:
    """Add an operation: `strategy` draws its arguments, the function applies them."""

    def add(apply: Apply) -> Apply:
        OPERATIONS[name] = (strategy, apply)
        return apply

    return add


# --- What the books must hold -------------------------------------------------------------------


def line_count() -> int:
    return JournalLine.objects.count()


def is_closed(day: dt.date) -> bool:
    return services.closed_period_for(day) is not None


def check_books(books: Books) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entry_id FROM ledger_journalline GROUP BY entry_id "
            "HAVING sum(amount_cents) <> 0 OR count(*) < 2"
        )
        assert cursor.fetchall() == [], "an entry does not balance"
        cursor.execute(
            "SELECT count(*) FROM ledger_journalentry e WHERE total_cents <> "
            "(SELECT sum(amount_cents) FROM ledger_journalline l "
            "WHERE l.entry_id = e.id AND amount_cents > 0)"
        )
        assert cursor.fetchone()[0] == 0, "an entry's total is not its debits"
    assert (JournalLine.objects.aggregate(net=Sum("amount_cents"))["net"] or 0) == 0
    balance = selectors.trial_balance()
    assert balance.balanced
    ids = [patient.pk for patient in books.patients]
    from_selector = selectors.patient_account_cents(ids)
    from_lines = dict(
        JournalLine.objects.filter(patient_id__in=ids, account__key__in=PATIENT_KEYS)
        .order_by()
        .values_list("patient_id")
        .annotate(net=Sum("amount_cents"))
    )
    for pk in ids:
        expected = books.patient_cents.get(pk, 0)
        assert from_selector.get(pk, 0) == (from_lines.get(pk) or 0) == expected, pk
    for period in FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED):
        facts = JournalLine.objects.filter(date__range=(period.start, period.end)).aggregate(
            n=Count("id"), net=Sum("amount_cents")
        )
        assert facts["n"] == period.closed_line_count, f"{period.label} changed after close"
        assert (facts["net"] or 0) == period.closed_net_cents


def expect_posted(books: Books, posting: Posting, attempt: Callable[[], Any]) -> Any:
    """Run a posting attempt: refused with no rows written when its date is in a closed
    month, written (and remembered) otherwise."""
    before = line_count()
    if is_closed(posting.date):
        with pytest.raises(MedofficeError, match="closed"):
            attempt()
        assert line_count() == before
        return None
    result = attempt()
    remember(books, posting)
    return result


def remember(books: Books, posting: Posting) -> None:
    books.posted.append(posting)
    for line in posting.lines:
        if line.patient is not None and line.account in PATIENT_KEYS:
            cents = services.to_cents(line.debit, field="d") - services.to_cents(
                line.credit, field="c"
            )
            books.patient_cents[line.patient.pk] = (
                books.patient_cents.get(line.patient.pk, 0) + cents
            )


# --- Operations ---------------------------------------------------------------------------------


@st.composite
def balanced_lines(draw: st.DrawFn) -> list[tuple[str, int, int, int]]:
    """(account key, signed cents, patient index or -1, location index or -1) summing to zero."""
    debits = draw(st.lists(st.integers(1, 5_000_000), min_size=1, max_size=3))
    total = sum(debits)
    parts = draw(st.integers(1, min(3, total)))
    cuts = sorted(
        draw(st.sets(st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1))
        if parts > 1
        else set()
    )
    credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    amounts = debits + [-c for c in credits]
    return [
        (draw(st.sampled_from(KEYS)), cents, draw(st.integers(-1, 2)), draw(st.integers(-1, 1)))
        for cents in amounts
    ]


def to_posting(books: Books, drawn: tuple[dt.date, list], source_id: int) -> Posting:
    day, rows = drawn
    lines = []
    for key, cents, patient, place in rows:
        location = books.locations[place] if place >= 0 else None
        if key == "cash_drawer" and location is None:
            location = books.locations[0]
        on_patient = key in PATIENT_KEYS and patient >= 0
        amount = services.to_dollars(abs(cents))
        lines.append(
            Line(
                key,
                debit=amount if cents > 0 else 0,
                credit=amount if cents < 0 else 0,
                location=location,
                patient=books.patients[patient] if on_patient else None,
            )
        )
    return Posting(source_type="tests.event", source_id=source_id, date=day, lines=lines)


days = st.dates(FIRST, LAST)


@register("post", st.tuples(days, balanced_lines()))
def op_post(books: Books, drawn: Any) -> None:
    posting = to_posting(books, drawn, books.next_id())
    expect_posted(books, posting, lambda: services.post(posting, actor=books.manager))


@register("post_many", st.lists(st.tuples(days, balanced_lines()), min_size=1, max_size=4))
def op_post_many(books: Books, drawn: Any) -> None:
    postings = [to_posting(books, one, books.next_id()) for one in drawn]
    before = line_count()
    if any(is_closed(p.date) for p in postings):
        with pytest.raises(MedofficeError, match="closed"):
            services.post_many(postings, actor=books.manager)
        assert line_count() == before  # all or none
        return
    services.post_many(postings, actor=books.manager)
    for posting in postings:
        remember(books, posting)


@register("post_again", st.integers(0, 10_000))
def op_post_again(books: Books, pick: int) -> None:
    if not books.posted:
        return
    posting = books.posted[pick % len(books.posted)]
    before = line_count(), JournalEntry.objects.count()
    entry = services.post(posting, actor=books.manager)  # once, even into a closed month
    assert entry.source_key == posting.source_key
    assert (line_count(), JournalEntry.objects.count()) == before


@register("reverse", st.tuples(st.integers(0, 10_000), days))
def op_reverse(books: Books, drawn: Any) -> None:
    pick, day = drawn
    candidates = [p for p in books.posted if p.source_type == "tests.event" and not p.event]
    if not candidates:
        return
    posting = candidates[pick % len(candidates)]
    entry = JournalEntry.objects.get(source_key=posting.source_key)
    if JournalEntry.objects.filter(reverses=entry).exists():
        return
    swapped = Posting(
        source_type=posting.source_type,
        source_id=posting.source_id,
        event="reversal",
        date=day,
        lines=[
            Line(x.account, debit=x.credit, credit=x.debit, patient=x.patient, location=x.location)
            for x in posting.lines
        ],
    )
    expect_posted(books, swapped, lambda: services.reverse(entry, actor=books.manager, on=day))


@register("manual_entry", st.tuples(days, balanced_lines()))
def op_manual_entry(books: Books, drawn: Any) -> None:
    """The accountant's entry: posts at once within the manager's limit, else waits."""
    day, rows = drawn
    lines = [
        ManualLine(
            CODES[key],
            debit=services.to_dollars(cents) if cents > 0 else "",
            credit=services.to_dollars(-cents) if cents < 0 else "",
            # a line on a patient account names its patient (the service refuses it otherwise)
            patient=books.patients[max(patient, 0)] if key in PATIENT_KEYS else None,
        )
        for key, cents, patient, _ in rows
        if key != "cash_drawer"
    ]
    if len(lines) < 2 or sum(cents for key, cents, _, _ in rows if key != "cash_drawer"):
        return  # dropping the drawer's lines unbalanced it; another draw will do
    before = line_count()
    if is_closed(day):
        with pytest.raises(MedofficeError, match="closed"):
            services.manual_entry_submit(actor=books.manager, date=day, memo="adj", lines=lines)
        assert line_count() == before
        return
    draft = services.manual_entry_submit(actor=books.manager, date=day, memo="adj", lines=lines)
    posted = draft.status == ManualEntryStatus.POSTED
    # Within the manager's $10,000.00 for the day with their own earlier entries; a patient's
    # account is never adjusted on the preparer's authority alone.
    on_patient = any(line.patient is not None for line in lines)
    earlier = (
        ManualEntry.objects.filter(
            prepared_by=books.manager,
            status=ManualEntryStatus.POSTED,
            approval__within_requester_authority=True,
        )
        .exclude(pk=draft.pk)
        .aggregate(total=Sum("total_cents"))["total"]
        or 0
    )
    assert posted == (not on_patient and draft.total_cents + earlier <= 1_000_000)
    assert line_count() == before + (len(lines) if posted else 0)
    if posted:
        remember_entry(books, draft.entry)


def remember_entry(books: Books, entry: JournalEntry | None) -> None:
    """What a posted manual entry did to the patients' accounts."""
    assert entry is not None, "a posted manual entry has its journal entry"
    rows = entry.lines.filter(patient__isnull=False, account__key__in=PATIENT_KEYS)
    for patient_id, cents in rows.values_list("patient_id", "amount_cents"):
        books.patient_cents[patient_id] = books.patient_cents.get(patient_id, 0) + cents


def pending_manual_in(month: dt.date) -> bool:
    """A manual entry waits for approval dated in the month or before it (a month's close
    closes the empty months before it too)."""
    start = month.replace(day=1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return ManualEntry.objects.filter(status=ManualEntryStatus.PENDING, date__lt=end).exists()


@register("decide_manual_entry", st.tuples(st.integers(0, 10_000), st.booleans()))
def op_decide_manual_entry(books: Books, drawn: Any) -> None:
    pick, approve = drawn
    waiting = list(ManualEntry.objects.filter(status=ManualEntryStatus.PENDING).order_by("pk"))
    if not waiting:
        return
    draft = waiting[pick % len(waiting)]
    before = line_count()
    decide = lambda: approval_decide(  # noqa: E731
        request_id=draft.approval_id, decided_by=books.owner, approve=approve, note="no"
    )
    if approve and is_closed(draft.date):
        with pytest.raises(MedofficeError, match="closed"):
            decide()
        draft.refresh_from_db()
        assert draft.status == ManualEntryStatus.PENDING and line_count() == before
        return
    decide()
    draft.refresh_from_db()
    if approve:
        assert draft.status == ManualEntryStatus.POSTED
        assert line_count() == before + len(draft.lines)
        remember_entry(books, draft.entry)
    else:
        assert draft.status == ManualEntryStatus.REJECTED and line_count() == before


months = st.dates(FIRST, LAST).map(lambda day: day.replace(day=1))


@register("close_through", months)
def op_close_through(books: Books, month: dt.date) -> None:
    """Close every month up to `month`, oldest first (months close in order)."""
    first = JournalLine.objects.order_by("date").values_list("date", flat=True).first()
    cursor = (first or month).replace(day=1)
    while cursor <= month:
        following = (cursor.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        if following > timezone.localdate():  # the month is still running: it cannot close
            with pytest.raises(MedofficeError, match="has not ended"):
                services.close_period(month=cursor, actor=books.manager)
            assert not is_closed(cursor)
            return
        if not is_closed(cursor):
            if pending_manual_in(cursor):  # a month does not close over entries awaiting approval
                with pytest.raises(MedofficeError, match="waiting for approval"):
                    services.close_period(month=cursor, actor=books.manager)
                assert not is_closed(cursor)
                return
            services.close_period(month=cursor, actor=books.manager)
        cursor = (cursor.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@register("reopen_newest", st.just(None))
def op_reopen_newest(books: Books, _: None) -> None:
    newest = FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED).order_by("-start").first()
    if newest is not None:
        services.reopen_period(month=newest.start, actor=books.owner, reason="a late invoice")
        assert not is_closed(newest.start)


@register("close_year", st.just(2025))
def op_close_year(books: Books, year: int) -> None:
    if is_closed(dt.date(year, 12, 1)):  # December's close closed the year with it
        assert selectors_year_net(year) == {}
        assert services.close_year(year=year, actor=books.manager) is None
        return
    try:
        services.close_year(year=year, actor=books.manager)
    except MedofficeError as exc:
        # Months close in order: an open month of an earlier year must close first; and a
        # month with manual entries awaiting approval does not close.
        assert "first" in str(exc) or "waiting for approval" in str(exc), exc
        return
    assert selectors_year_net(year) == {}
    assert all(is_closed(dt.date(year, m, 1)) for m in range(1, 13))


def selectors_year_net(year: int) -> dict[int, int]:
    return {
        account: net
        for account, net in JournalLine.objects.filter(
            date__year=year, account__type__in=(AccountType.REVENUE, AccountType.EXPENSE)
        )
        .order_by()
        .values_list("account_id")
        .annotate(net=Sum("amount_cents"))
        if net
    }


def _named(name: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Operation]:
    return strategy.map(lambda args: (name, args))


def operations() -> st.SearchStrategy[Operation]:
    return st.one_of([_named(name, strategy) for name, (strategy, _) in OPERATIONS.items()])


# --- The test -----------------------------------------------------------------------------------


@pytest.fixture
def world(users, practice) -> Books:
    CODES.update(Account.objects.filter(key__in=KEYS).values_list("key", "code"))
    return Books(
        manager=users["manager"],
        owner=users["owner"],
        patients=[patients_factories.patient() for _ in range(3)],
        locations=[factories.location(name=f"Site {n}") for n in range(2)],
    )


class Rollback(Exception):
    pass


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # No shrinking: on a database it takes minutes; the failing sequence is printed as drawn.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.deferred(operations), min_size=1, max_size=STEPS))
def test_the_books_hold_after_any_sequence(world: Books, steps: list[Operation]) -> None:
    books = Books(
        manager=world.manager, owner=world.owner, patients=world.patients,
        locations=world.locations,
    )  # fmt: skip
    try:
        with transaction.atomic():
            for name, args in steps:
                OPERATIONS[name][1](books, args)
                check_books(books)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit-time guard
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            raise Rollback
    except Rollback:
        pass
    assert JournalLine.objects.count() == 0  # nothing leaked out of the example
