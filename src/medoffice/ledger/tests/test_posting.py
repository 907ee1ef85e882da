"""The one posting API: balanced entries only, once per source, never into a closed period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, NotPermitted
from medoffice.ledger import selectors, services
from medoffice.ledger.models import Account, EntryKind, JournalEntry, JournalLine, PeriodStatus
from medoffice.ledger.services import Line, Posting
from medoffice.testing import factories

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 12)


def cash_sale(
    source_id: object = 1, amount: str = "25.00", day: dt.date = DAY, **kwargs
) -> Posting:
    return Posting(
        source_type="tests.sale",
        source_id=str(source_id),
        date=day,
        lines=[
            Line("bank_operating", debit=amount),
            Line("revenue:office_visits", credit=amount),
        ],
        **kwargs,
    )


def test_the_chart_is_there_with_normal_sides():
    assert Account.objects.get(key="bank_operating").normal_side == "debit"
    assert Account.objects.get(key="unapplied_patient").normal_side == "credit"
    assert Account.objects.get(key="contractual_adjustments").normal_side == "debit"  # contra
    assert Account.objects.get(key="revenue").is_postable is False


def test_a_posting_writes_one_balanced_entry(users):
    entry = services.post(cash_sale(), actor=users["manager"])
    lines = list(entry.lines.order_by("id"))
    assert [line.amount_cents for line in lines] == [2500, -2500]
    assert entry.total == Decimal("25.00")
    assert entry.posted_by == users["manager"]
    assert all(line.date == DAY for line in lines)
    balance = selectors.trial_balance(DAY)
    assert balance.balanced and balance.total_debit == Decimal("25.00")


def test_posting_the_same_source_again_posts_once(users):
    first = services.post(cash_sale(), actor=users["manager"])
    again = services.post(cash_sale(), actor=users["manager"])
    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1


def test_the_same_source_with_other_lines_is_a_conflict(users):
    services.post(cash_sale(amount="25.00"), actor=users["manager"])
    with pytest.raises(Conflict, match="already posted"):
        services.post(cash_sale(amount="26.00"), actor=users["manager"])


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([Line("bank_operating", debit="10.00")], "at least two lines"),
        (
            [Line("bank_operating", debit="10.00"), Line("revenue:other", credit="9.99")],
            "do not balance",
        ),
        (
            [Line("bank_operating", debit="10.00", credit="1"), Line("revenue:other", credit="9")],
            "one of them",
        ),
        ([Line("bank_operating", debit="1e3"), Line("revenue:other", credit="1000")], "dollars"),
        ([Line("bank_operating", debit="0.001"), Line("revenue:other", credit="0")], "fractions"),
        ([Line("revenue", debit="5"), Line("revenue:other", credit="5")], "heading"),
        ([Line("no_such", debit="5"), Line("revenue:other", credit="5")], "No account"),
    ],
)
def test_bad_lines_are_refused_naming_what_is_wrong(users, lines, message):
    posting = Posting(source_type="tests.sale", source_id="x", date=DAY, lines=lines)
    with pytest.raises(InvalidInput, match=message):
        services.post(posting, actor=users["manager"])
    assert JournalLine.objects.count() == 0


def test_a_per_location_account_is_made_on_first_posting(users, practice):
    place = factories.location(name="Elm Street")
    posting = Posting(
        source_type="tests.sale", source_id="drawer", date=DAY, location=place,
        lines=[Line("cash_drawer", debit="5.00"), Line("revenue:other", credit="5.00")],
    )  # fmt: skip
    entry = services.post(posting, actor=users["manager"])
    drawer = entry.lines.get(amount_cents=500).account
    assert drawer.key == f"cash_drawer:{place.pk}" and drawer.location == place
    assert "Elm Street" in drawer.name
    assert services.account_for("cash_drawer", location=place) == drawer


def test_a_reversal_swaps_the_sides_and_links_the_original(users):
    entry = services.post(cash_sale(), actor=users["manager"])
    reversal = services.reverse(entry, actor=users["manager"], on=DAY, memo="keyed twice")
    assert reversal.kind == EntryKind.REVERSAL and reversal.reverses == entry
    assert sorted(reversal.lines.values_list("amount_cents", flat=True)) == [-2500, 2500]
    assert selectors.trial_balance(DAY).rows == []
    assert services.reverse(entry, actor=users["manager"]).pk == reversal.pk  # once
    with pytest.raises(InvalidTransition):
        services.reverse(reversal, actor=users["manager"])


def test_many_postings_in_one_batch_write_one_audit_event(users):
    from medoffice.core.models import AuditEvent

    before = AuditEvent.objects.count()
    entries = services.post_many(
        [cash_sale(n, amount=f"{n}.00") for n in range(1, 51)], actor=users["manager"]
    )
    assert len(entries) == 50 and JournalEntry.objects.count() == 50
    assert AuditEvent.objects.count() == before + 1
    assert selectors.trial_balance(DAY).total_debit == Decimal(sum(range(1, 51)))
    again = services.post_many([cash_sale(1, amount="1.00"), cash_sale(99)], actor=users["manager"])
    assert again[0].pk == entries[0].pk and JournalEntry.objects.count() == 51


# --- Periods --------------------------------------------------------------------------------------


def test_a_closed_period_refuses_postings_and_names_the_month(users):
    services.post(cash_sale(1, day=dt.date(2026, 10, 3)), actor=users["manager"])
    period = services.close_period(month=dt.date(2026, 10, 1), actor=users["manager"])
    assert period.status == PeriodStatus.CLOSED and period.closed_line_count == 2
    with pytest.raises(InvalidInput, match="October 2026 is closed"):
        services.post(cash_sale(2, day=dt.date(2026, 10, 31)), actor=users["manager"])
    services.post(cash_sale(3, day=dt.date(2026, 11, 1)), actor=users["manager"])


def test_months_close_in_order_and_reopen_needs_the_owner(users):
    services.post(cash_sale(1, day=dt.date(2026, 9, 3)), actor=users["manager"])
    with pytest.raises(InvalidTransition, match="Close September 2026 first"):
        services.close_period(month=dt.date(2026, 10, 1), actor=users["manager"])
    services.close_period(month=dt.date(2026, 9, 1), actor=users["manager"])
    with pytest.raises(NotPermitted):
        services.reopen_period(month=dt.date(2026, 9, 1), actor=users["manager"], reason="fix")
    with pytest.raises(InvalidInput, match="Say why the period is reopened") as caught:
        services.reopen_period(month=dt.date(2026, 9, 1), actor=users["owner"], reason=" ")
    assert caught.value.field == "reason"
    services.reopen_period(month=dt.date(2026, 9, 1), actor=users["owner"], reason="late bill")
    services.post(cash_sale(2, day=dt.date(2026, 9, 4)), actor=users["manager"])


def test_closing_needs_the_role(users):
    with pytest.raises(NotPermitted):
        services.close_period(month=dt.date(2026, 10, 1), actor=users["front_desk"])


# --- The database's own guards ------------------------------------------------------------------


def _raw_line(cursor, entry_id: int, account_id: int, cents: int, day: str = "2026-11-12") -> None:
    cursor.execute(
        "INSERT INTO ledger_journalline (entry_id, account_id, date, amount_cents, memo) "
        "VALUES (%s, %s, %s, %s, '')",
        [entry_id, account_id, day, cents],
    )


def _raw_entry(
    cursor, entry_id: int, total: int, day: str = "2026-11-12", key: str = "raw:1"
) -> None:
    cursor.execute(
        "INSERT INTO ledger_journalentry (id, date, kind, memo, source_type, source_id, "
        "source_key, total_cents, posted_at) VALUES (%s, %s, 'manual', '', 'raw.sql', '1', %s, %s, %s)",
        [entry_id, day, key, total, dt.datetime(2026, 11, 12, tzinfo=dt.UTC)],
    )


def _accounts() -> tuple[int, int]:
    return (
        Account.objects.get(key="bank_operating").pk,
        Account.objects.get(key="revenue:other").pk,
    )


def test_the_database_refuses_an_unbalanced_entry_written_with_sql():
    bank, revenue = _accounts()
    with (
        pytest.raises(DatabaseError, match="must have two or more lines"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_line(cursor, 900, bank, 1000)
        _raw_line(cursor, 900, revenue, -999)
        _raw_entry(cursor, 900, 1000)
    with (
        pytest.raises(DatabaseError, match="must have two or more lines"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_entry(cursor, 901, 1000)  # no lines at all
    with (
        pytest.raises(DatabaseError, match="must have two or more lines"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_line(cursor, 902, bank, 1000)
        _raw_line(cursor, 902, revenue, -1000, day="2026-11-13")  # off the entry's date
        _raw_entry(cursor, 902, 1000)
    assert JournalLine.objects.count() == 0


def test_the_database_takes_a_balanced_entry_then_refuses_any_change(users):
    bank, revenue = _accounts()
    with transaction.atomic(), connection.cursor() as cursor:
        _raw_line(cursor, 910, bank, 1000)
        _raw_line(cursor, 910, revenue, -1000)
        _raw_entry(cursor, 910, 1000)
    statements = [
        ("UPDATE ledger_journalline SET amount_cents = 5 WHERE entry_id = 910", "never changed"),
        ("DELETE FROM ledger_journalline WHERE entry_id = 910", "never changed"),
        ("UPDATE ledger_journalentry SET memo = 'x' WHERE id = 910", "never changed"),
        ("DELETE FROM ledger_journalentry WHERE id = 910", "never changed"),
    ]
    for sql, message in statements:
        with (
            pytest.raises(DatabaseError, match=message),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    with (
        pytest.raises(DatabaseError, match="takes no more lines"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_line(cursor, 910, bank, 1)
    assert selectors.trial_balance().balanced


@pytest.mark.parametrize("day", ["2026-10-05", "2026-03-31", "2025-01-02"])
def test_the_database_refuses_an_entry_in_or_before_a_closed_period(users, day):
    services.close_period(month=dt.date(2026, 10, 1), actor=users["manager"])
    bank, revenue = _accounts()
    with (
        pytest.raises(DatabaseError, match="books are closed through this date"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_line(cursor, 920, bank, 1000, day=day)
        _raw_line(cursor, 920, revenue, -1000, day=day)
        _raw_entry(cursor, 920, 1000, day=day)
    with transaction.atomic(), connection.cursor() as cursor:  # after the closed month: taken
        _raw_line(cursor, 921, bank, 1000, day="2026-11-02")
        _raw_line(cursor, 921, revenue, -1000, day="2026-11-02")
        _raw_entry(cursor, 921, 1000, day="2026-11-02")
    assert JournalLine.objects.filter(entry_id=921).count() == 2


def test_a_month_before_the_first_closed_month_takes_no_postings_once_it_closed(users):
    """No posting was in January when June closed, so January never closed; a posting dated
    in it afterwards would change a closed year's income (found by the property test)."""
    manager = users["manager"]
    services.post(cash_sale(1, day=dt.date(2025, 6, 10)), actor=manager)
    month = dt.date(2025, 6, 1)
    while month.year == 2025:
        services.close_period(month=month, actor=manager)
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    with pytest.raises(InvalidInput, match="01/25/2025 is before June 2025, which is closed"):
        services.post(cash_sale(2, day=dt.date(2025, 1, 25)), actor=manager)
    assert services.closed_period_for(dt.date(2025, 1, 25)).label == "June 2025"
    assert services.closed_period_for(dt.date(2026, 1, 2)) is None
    assert services.close_year(year=2025, actor=manager) is None  # the year stays closed


def test_a_batch_over_several_months_looks_at_the_closed_months_once(users):
    """The books are closed through the latest closed month, so the batch's earliest month
    alone tells whether any of its days is closed: one look, and a refusal names the first
    day refused."""
    from django.test.utils import CaptureQueriesContext

    def looks(queries: CaptureQueriesContext) -> list[str]:
        return [
            q["sql"] for q in queries.captured_queries
            if "ledger_fiscalperiod" in q["sql"] and "closed" in q["sql"]
        ]  # fmt: skip

    manager = users["manager"]
    services.post(cash_sale(1, day=dt.date(2026, 8, 10)), actor=manager)
    for month in (8, 9):
        services.close_period(month=dt.date(2026, month, 1), actor=manager)
    days = [dt.date(2026, 12, 3), dt.date(2026, 10, 14), dt.date(2026, 11, 2), dt.date(2026, 10, 1)]
    with CaptureQueriesContext(connection) as queries:
        services.post_many([cash_sale(10 + n, day=d) for n, d in enumerate(days)], actor=manager)
    assert len(looks(queries)) == 1, looks(queries)
    refused = [dt.date(2026, 11, 3), dt.date(2026, 9, 14), dt.date(2026, 9, 20)]
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(InvalidInput, match=r"^September 2026 is closed; post into an open period"),
    ):
        services.post_many([cash_sale(20 + n, day=d) for n, d in enumerate(refused)], actor=manager)
    assert len(looks(queries)) == 1, looks(queries)
    with pytest.raises(InvalidInput, match=r"^07/04/2026 is before August 2026, which is closed"):
        services.post_many(
            [cash_sale(30, day=dt.date(2026, 10, 5)), cash_sale(31, day=dt.date(2026, 7, 4))],
            actor=manager,
        )
    assert JournalEntry.objects.count() == 1 + len(days)


@pytest.mark.django_db(transaction=True)
def test_lines_whose_entry_never_comes_fail_at_commit():
    bank, revenue = _accounts()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        _raw_line(cursor, 930, bank, 1000)
        _raw_line(cursor, 930, revenue, -1000)
    assert JournalLine.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_source_posted_from_many_threads_posts_once(users):
    import threading

    from django.db import connections

    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            entry = services.post(cash_sale("race"), actor=users["manager"])
            outcomes.append(f"entry:{entry.pk}")
        except Exception as exc:  # reported, so the assertion shows it
            outcomes.append(f"error:{type(exc).__name__}:{exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("entry:"), outcomes
    assert JournalEntry.objects.filter(source_key="tests.sale:race").count() == 1
    assert JournalLine.objects.count() == 2


def test_a_month_closes_only_after_its_last_day(users):
    from django.utils import timezone

    from medoffice.ledger.models import FiscalPeriod

    today = timezone.localdate()
    this_month = today.replace(day=1)
    services.post(cash_sale(1, day=today), actor=users["manager"])
    with pytest.raises(InvalidInput, match=f"{this_month:%B %Y} has not ended; it can be closed"):
        services.close_period(month=this_month, actor=users["manager"])
    assert not FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED).exists()
    if this_month.month == 12:  # nor does December post the year's close early
        assert not JournalEntry.objects.filter(kind=EntryKind.CLOSING).exists()


@pytest.mark.parametrize(
    ("month", "words"),
    [
        (dt.date(2020, 1, 1), "there is no January 2020 to close"),
        (dt.date(1901, 1, 1), "there is no January 1901 to close"),
        (dt.date(9999, 12, 1), "December 9999 has not ended"),
    ],
)
def test_a_month_outside_the_books_is_refused_and_leaves_no_row(users, month, words):
    from medoffice.ledger.models import FiscalPeriod

    start = services.books_start()
    with pytest.raises(InvalidInput, match=words):
        services.close_period(month=month, actor=users["manager"])
    assert not FiscalPeriod.objects.filter(start=month).exists()
    assert services.books_start() == start
    with pytest.raises(InvalidInput, match="outside the books"):
        services.check_lines(
            day=month.replace(day=15), memo="m",
            lines=[services.ManualLine("5000", debit="1")] * 2,
        )  # fmt: skip
