"""The write side beyond posting: manual entries through authority, year-end close, the chart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition, NotPermitted
from medoffice.core.models import ApprovalRequest, ApprovalStatus, AuditEvent, DecisionKind
from medoffice.core.services import approval_decide, authority_of
from medoffice.ledger import selectors, services, verify
from medoffice.ledger.models import (
    Account,
    EntryKind,
    JournalEntry,
    JournalLine,
    ManualEntry,
    ManualEntryStatus,
    PeriodStatus,
)
from medoffice.ledger.services import Line, ManualLine, Posting

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 12)


def code(key: str) -> str:
    return Account.objects.get(key=key).code


def two_lines(amount: str = "125.00") -> list[ManualLine]:
    return [
        ManualLine(code("supplies_expense"), debit=amount, memo="gloves recoded"),
        ManualLine(code("other_expense"), credit=amount),
    ]


# --- Manual entries -----------------------------------------------------------------------------


def test_the_manager_has_a_manual_entry_limit_and_the_owner_none(users):
    assert authority_of(users["manager"], DecisionKind.JOURNAL_ENTRY) == Decimal("10000.00")
    assert authority_of(users["owner"], DecisionKind.JOURNAL_ENTRY) is None
    assert authority_of(users["front_desk"], DecisionKind.JOURNAL_ENTRY) == Decimal("0")


def test_a_manual_entry_within_authority_posts_at_once(users):
    draft = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Reclass supplies", lines=two_lines()
    )
    assert draft.status == ManualEntryStatus.POSTED
    entry = draft.entry
    assert entry.kind == EntryKind.MANUAL and entry.source_key == f"ledger.manual_entry:{draft.pk}"
    assert sorted(entry.lines.values_list("amount_cents", flat=True)) == [-12500, 12500]
    assert draft.approval.status == ApprovalStatus.APPROVED
    assert draft.approval.within_requester_authority


def test_over_the_limit_it_waits_and_posts_on_approval(users):
    draft = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Year's accrual", lines=two_lines("12000.00")
    )
    assert draft.status == ManualEntryStatus.PENDING and draft.entry is None
    assert JournalLine.objects.count() == 0  # the lines wait in the draft, not in the journal
    request = draft.approval
    assert request.status == ApprovalStatus.PENDING and request.amount == Decimal("12000.00")
    approval_decide(request_id=request.pk, decided_by=users["owner"], approve=True)
    draft.refresh_from_db()
    assert draft.status == ManualEntryStatus.POSTED
    assert draft.entry.posted_by == users["owner"] and draft.entry.total == Decimal("12000.00")
    assert selectors.trial_balance().balanced


def test_the_manual_entry_limit_holds_for_the_preparers_day(users):
    today = timezone.localdate()
    first, second = (
        services.manual_entry_submit(
            actor=users["manager"], date=today, memo=f"Part {n}", lines=two_lines("6000.00")
        )
        for n in (1, 2)
    )
    assert first.status == ManualEntryStatus.POSTED  # $6,000 of the $10,000 limit
    assert second.status == ManualEntryStatus.PENDING  # $12,000 with the first
    assert "with $6,000.00 the same person posted today" in second.approval.description
    assert second.approval.amount == Decimal("6000.00")
    # Entries that waited, were approved by another or rejected do not count as the preparer's.
    approval_decide(request_id=second.approval_id, decided_by=users["owner"], approve=True)
    third = services.manual_entry_submit(
        actor=users["manager"], date=today, memo="Part 3", lines=two_lines("4000.00")
    )
    assert third.status == ManualEntryStatus.POSTED
    fourth = services.manual_entry_submit(
        actor=users["manager"], date=today, memo="Part 4", lines=two_lines("0.01")
    )
    assert fourth.status == ManualEntryStatus.PENDING


def test_splitting_an_amount_over_the_limit_posts_no_more_than_the_limit_on_the_preparers_word(
    users,
):
    """Drafts waiting for approval are not counted in the preparer's day: they post only on
    another person's approval (who then answers for them, as when one is approved), so they
    cannot carry anything past the limit. Splitting $25,000 in pieces posts $10,000 on the
    manager's own authority and leaves the rest waiting, each piece for someone else."""
    today = timezone.localdate()
    pieces = [
        services.manual_entry_submit(
            actor=users["manager"], date=today, memo=f"Piece {n}", lines=two_lines("2500.00")
        )
        for n in range(10)
    ]
    statuses = [piece.status for piece in pieces]
    assert statuses == [ManualEntryStatus.POSTED] * 4 + [ManualEntryStatus.PENDING] * 6
    posted = sum(
        JournalLine.objects.filter(amount_cents__gt=0).values_list("amount_cents", flat=True)
    )
    assert posted == 1_000_000  # $10,000: the limit, not a cent more
    waiting = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING)
    assert waiting.count() == 6
    assert all("the same person posted today" in r.description for r in waiting)
    # Waiting drafts hold nothing of the limit back, nor give any of it: the limit is used up.
    more = services.manual_entry_submit(
        actor=users["manager"], date=today, memo="One more", lines=two_lines("0.01")
    )
    assert more.status == ManualEntryStatus.PENDING


def test_a_draft_waiting_for_approval_does_not_make_an_entry_within_the_limit_wait(users):
    today = timezone.localdate()
    big = services.manual_entry_submit(
        actor=users["manager"], date=today, memo="Accrual", lines=two_lines("12000.00")
    )
    assert big.status == ManualEntryStatus.PENDING  # over the $10,000 limit by itself
    small = services.manual_entry_submit(
        actor=users["manager"], date=today, memo="Reclass", lines=two_lines("9000.00")
    )
    assert small.status == ManualEntryStatus.POSTED  # $9,000 is all the manager posted today
    assert "the same person posted today" not in small.approval.description
    over = services.manual_entry_submit(
        actor=users["manager"], date=today, memo="Too much", lines=two_lines("1000.01")
    )
    assert over.status == ManualEntryStatus.PENDING  # $10,000.01 with the $9,000


def test_three_entries_at_the_limit_post_one_on_the_preparers_authority(users):
    today = timezone.localdate()
    drafts = [
        services.manual_entry_submit(
            actor=users["manager"], date=today, memo=f"Split {n}", lines=two_lines("10000.00")
        )
        for n in range(3)
    ]
    assert [d.status for d in drafts] == [ManualEntryStatus.POSTED] + [
        ManualEntryStatus.PENDING
    ] * 2
    assert JournalEntry.objects.filter(kind=EntryKind.MANUAL).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_submits_cannot_all_pass_within_the_limit(users):
    import threading

    from django.db import connections

    today = timezone.localdate()
    lines = two_lines("4000.00")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            draft = services.manual_entry_submit(
                actor=users["manager"], date=today, memo=f"Race {n}", lines=lines
            )
            outcomes.append(draft.status)
        except Exception as exc:  # reported, so the assertion shows it
            outcomes.append(f"refused:{type(exc).__name__}:{exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    # $4,000 each against a $10,000 day: two post on the preparer's authority, two wait.
    assert sorted(outcomes) == ["pending", "pending", "posted", "posted"], outcomes
    assert JournalEntry.objects.filter(kind=EntryKind.MANUAL).count() == 2


def test_a_rejected_manual_entry_posts_nothing(users):
    draft = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Big one", lines=two_lines("20000.00")
    )
    with pytest.raises(InvalidInput, match="reason"):
        approval_decide(request_id=draft.approval_id, decided_by=users["owner"], approve=False)
    approval_decide(
        request_id=draft.approval_id, decided_by=users["owner"], approve=False, note="no invoice"
    )
    draft.refresh_from_db()
    assert draft.status == ManualEntryStatus.REJECTED and draft.note == "no invoice"
    assert JournalEntry.objects.count() == 0


def test_a_cancelled_request_cancels_the_manual_entry_and_its_month_closes(users):
    from medoffice.core.services import approval_cancel

    draft = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Too big", lines=two_lines("20000.00")
    )
    month = DAY.replace(day=1)
    with pytest.raises(InvalidTransition, match="waiting for approval"):
        services.close_period(month=month, actor=users["manager"])
    approval_cancel(request_id=draft.approval_id, cancelled_by=users["manager"])
    draft.refresh_from_db()
    assert draft.status == ManualEntryStatus.CANCELLED and draft.entry is None
    assert JournalEntry.objects.count() == 0
    with pytest.raises(InvalidTransition, match="already cancelled"):
        approval_decide(request_id=draft.approval_id, decided_by=users["owner"], approve=True)
    services.close_period(month=month, actor=users["manager"])


def test_every_bad_line_is_named_at_once_and_nothing_is_written(users):
    lines = [
        ManualLine(code("supplies_expense"), debit="10.00"),
        ManualLine("9999", credit="5.00"),
        ManualLine(code("revenue"), credit="1.234"),
        ManualLine(code("bank_operating"), debit="3", credit="3"),
        ManualLine(""),
    ]
    with pytest.raises(InvalidInput) as caught:
        services.manual_entry_submit(actor=users["manager"], date=DAY, memo="", lines=lines)
    errors = caught.value.errors
    assert set(errors) == {
        "memo", "lines.2.account", "lines.3.account", "lines.3.credit", "lines.4",
        "lines.5.account", "lines.5",
    }  # fmt: skip
    assert "no account '9999'" in errors["lines.2.account"][0]
    assert "heading" in errors["lines.3.account"][0]
    assert "fractions of a cent" in errors["lines.3.credit"][0]
    assert ManualEntry.objects.count() == 0 and ApprovalRequest.objects.count() == 0


def test_an_unbalanced_manual_entry_says_by_how_much(users):
    lines = [
        ManualLine(code("supplies_expense"), debit="10.00"),
        ManualLine(code("other_expense"), credit="9.50"),
    ]
    with pytest.raises(InvalidInput, match=r"off by \$0.50"):
        services.manual_entry_submit(actor=users["manager"], date=DAY, memo="x", lines=lines)
    assert ManualEntry.objects.count() == 0


def test_a_manual_entry_into_a_closed_month_is_refused(users):
    services.close_period(month=dt.date(2026, 10, 1), actor=users["manager"])
    with pytest.raises(InvalidInput, match="October 2026 is closed") as caught:
        services.manual_entry_submit(
            actor=users["manager"], date=dt.date(2026, 10, 5), memo="late", lines=two_lines()
        )
    assert "date" in caught.value.errors
    assert ManualEntry.objects.count() == 0


def test_the_same_idempotency_key_submits_once(users):
    first = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Once", lines=two_lines(), idempotency_key="k-1"
    )
    again = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Once", lines=two_lines(), idempotency_key="k-1"
    )
    assert again.pk == first.pk and JournalEntry.objects.count() == 1
    with pytest.raises(Conflict):
        services.manual_entry_submit(
            actor=users["manager"], date=DAY, memo="Once", lines=two_lines("1.00"),
            idempotency_key="k-1",
        )  # fmt: skip
    assert ManualEntry.objects.count() == 1


@pytest.mark.parametrize("role", ["front_desk", "biller", "auditor"])
def test_manual_entries_need_the_permission(users, role):
    with pytest.raises(NotPermitted):
        services.manual_entry_submit(actor=users[role], date=DAY, memo="x", lines=two_lines())
    assert ManualEntry.objects.count() == 0


# --- Year-end close -----------------------------------------------------------------------------


def sale(n: int, day: dt.date, amount: str, revenue: str = "revenue:office_visits") -> Posting:
    return Posting(
        source_type="tests.sale", source_id=n, date=day,
        lines=[Line("bank_operating", debit=amount), Line(revenue, credit=amount)],
    )  # fmt: skip


def expense(n: int, day: dt.date, amount: str) -> Posting:
    return Posting(
        source_type="tests.bill", source_id=n, date=day,
        lines=[Line("rent_expense", debit=amount), Line("bank_operating", credit=amount)],
    )  # fmt: skip


def test_year_end_moves_income_to_retained_earnings_and_closes_the_months(users):
    manager = users["manager"]
    services.post(sale(1, dt.date(2025, 3, 4), "900.00"), actor=manager)
    services.post(sale(2, dt.date(2025, 12, 30), "100.00", "revenue:laboratory"), actor=manager)
    services.post(expense(3, dt.date(2025, 7, 1), "400.00"), actor=manager)
    services.post(sale(4, dt.date(2026, 1, 2), "50.00"), actor=manager)
    entry = services.close_year(year=2025, actor=manager)
    assert entry.kind == EntryKind.CLOSING and entry.date == dt.date(2025, 12, 31)
    assert entry.source_key == "ledger.year_end:2025"
    retained = Account.objects.get(key="retained_earnings")
    assert selectors.balance_of(retained) == Decimal("600.00")
    year_end = selectors.trial_balance(dt.date(2025, 12, 31))
    assert {row.account.type for row in year_end.rows} <= {"asset", "liability", "equity"}
    assert year_end.balanced
    next_year = selectors.balance_of(Account.objects.get(key="revenue:office_visits"))
    assert next_year == Decimal("50.00")  # 2026 untouched
    from medoffice.ledger.models import FiscalPeriod

    statuses = FiscalPeriod.objects.filter(start__year=2025).values_list("status", flat=True)
    assert list(statuses) == [PeriodStatus.CLOSED] * 12
    assert services.close_year(year=2025, actor=manager) is None  # once
    assert JournalEntry.objects.filter(kind=EntryKind.CLOSING).count() == 1


def test_year_end_after_a_reopened_december_posts_the_difference(users):
    services.post(sale(1, dt.date(2025, 6, 1), "300.00"), actor=users["manager"])
    services.close_year(year=2025, actor=users["manager"])
    services.reopen_period(month=dt.date(2025, 12, 1), actor=users["owner"], reason="late bill")
    services.post(expense(2, dt.date(2025, 12, 15), "20.00"), actor=users["manager"])
    second = services.close_year(year=2025, actor=users["manager"])
    assert second.source_key == "ledger.year_end:2025:2"
    assert selectors.balance_of(Account.objects.get(key="retained_earnings")) == Decimal("280.00")


def test_closing_december_closes_the_year_and_the_year_close_then_posts_nothing(users):
    manager = users["manager"]
    services.post(sale(1, dt.date(2025, 2, 3), "250.00"), actor=manager)
    month = dt.date(2025, 1, 1)
    while month.year == 2025:
        services.close_period(month=month, actor=manager)
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    closing = JournalEntry.objects.get(kind=EntryKind.CLOSING)
    assert closing.date == dt.date(2025, 12, 31)
    assert selectors.balance_of(Account.objects.get(key="retained_earnings")) == Decimal("250.00")
    assert services.close_year(year=2025, actor=manager) is None
    assert JournalEntry.objects.filter(kind=EntryKind.CLOSING).count() == 1
    assert list(verify.problems()) == []  # December's close counted its year-end lines


def test_a_december_closed_without_its_year_end_entry_says_how_to_mend_it(users):
    from medoffice.ledger.models import FiscalPeriod

    services.post(sale(1, dt.date(2025, 12, 3), "80.00"), actor=users["manager"])
    for n in range(1, 13):  # closed by an earlier version, which posted no year-end entry
        FiscalPeriod.objects.update_or_create(
            start=dt.date(2025, n, 1),
            defaults={"end": services.period_for(dt.date(2025, n, 1)).end, "status": "closed"},
        )
    with pytest.raises(InvalidTransition, match="owner reopens December 2025"):
        services.close_year(year=2025, actor=users["manager"])


def test_an_empty_month_before_a_closed_one_does_not_close_again(users):
    """Closing a month closes the empty months before it (months close in order): closing one
    of them afterwards is refused in words and changes nothing; the year close skips them."""
    from medoffice.ledger.models import FiscalPeriod

    manager = users["manager"]
    services.close_period(month=dt.date(2025, 6, 1), actor=manager)  # nothing posted yet
    with pytest.raises(InvalidTransition, match="March 2025 is already closed with June 2025"):
        services.close_period(month=dt.date(2025, 3, 1), actor=manager)
    assert list(FiscalPeriod.objects.values_list("start", "status")) == [
        (dt.date(2025, 6, 1), PeriodStatus.CLOSED)
    ]
    with pytest.raises(InvalidInput, match="before June 2025, which is closed"):
        services.post(sale(1, dt.date(2025, 4, 2), "5.00"), actor=manager)
    services.post(sale(2, dt.date(2025, 8, 2), "5.00"), actor=manager)
    assert services.close_year(year=2025, actor=manager) is not None
    closed = FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED).order_by("start")
    assert [p.start.month for p in closed] == list(range(6, 13))


def test_a_close_waits_for_a_manual_entry_waiting_in_an_empty_month_before_it(users):
    manager = users["manager"]
    services.post(sale(1, dt.date(2025, 9, 3), "5.00"), actor=manager)
    draft = services.manual_entry_submit(
        actor=manager, date=dt.date(2025, 8, 15), memo="Accrual", lines=two_lines("20000.00")
    )
    assert draft.status == ManualEntryStatus.PENDING
    with pytest.raises(
        InvalidTransition,
        match=rf"Manual entry {draft.pk} \(dated 08/15/2025\) is waiting for approval, and closing "
        r"September 2025 closes its date too; approve or reject it",
    ):
        services.close_period(month=dt.date(2025, 9, 1), actor=manager)
    assert services.closed_period_for(dt.date(2025, 9, 1)) is None
    approval_decide(request_id=draft.approval_id, decided_by=users["owner"], approve=True)
    draft.refresh_from_db()
    assert draft.status == ManualEntryStatus.POSTED
    services.close_period(month=dt.date(2025, 8, 1), actor=manager)


def test_reopening_a_month_closed_with_a_later_one_names_that_one(users):
    services.close_period(month=dt.date(2025, 9, 1), actor=users["manager"])
    with pytest.raises(InvalidTransition, match="August 2025 was closed with September 2025"):
        services.reopen_period(month=dt.date(2025, 8, 1), actor=users["owner"], reason="late")
    with pytest.raises(InvalidInput, match="there is no January 1999 to reopen"):
        services.reopen_period(month=dt.date(1999, 1, 1), actor=users["owner"], reason="late")
    assert services.closed_period_for(dt.date(2025, 8, 1)) is not None


@pytest.mark.parametrize("year", [0, -1, 10000])
def test_a_year_that_is_no_year_is_refused_in_words(users, year):
    with pytest.raises(InvalidInput, match="is not a fiscal year"):
        services.close_year(year=year, actor=users["manager"])


def test_a_year_that_has_not_ended_is_not_closed(users):
    services.post(sale(1, DAY, "10.00"), actor=users["manager"])
    with pytest.raises(InvalidInput, match="has not ended"):
        services.close_year(year=DAY.year, actor=users["manager"])
    assert JournalEntry.objects.count() == 1


def test_year_end_needs_the_close_permission(users):
    with pytest.raises(NotPermitted):
        services.close_year(year=2025, actor=users["biller"])


def test_reopening_is_flagged_in_the_audit_trail(users):
    services.close_period(month=dt.date(2026, 10, 1), actor=users["manager"])
    services.reopen_period(month=dt.date(2026, 10, 1), actor=users["owner"], reason="typo")
    event = AuditEvent.objects.filter(object_type="ledger.fiscalperiod").order_by("-id").first()
    assert event.flagged and event.reason == "typo"


# --- The chart of accounts ----------------------------------------------------------------------


def test_an_account_is_added_renumbered_and_keeps_its_key(users):
    heading = Account.objects.get(key="expenses")
    made = services.account_create(
        actor=users["manager"], code="5500", name="Marketing", type="expense", parent=heading
    )
    assert made.normal_side == "debit" and made.key is None
    rent = Account.objects.get(key="rent_expense")
    services.account_update(
        actor=users["manager"], account=rent, code="5310", name="Rent", parent=heading
    )
    rent.refresh_from_db()
    assert (rent.code, rent.name, rent.key) == ("5310", "Rent", "rent_expense")
    entry = services.post(expense(1, DAY, "5.00"), actor=users["manager"])  # follows the key
    assert entry.lines.filter(account=rent).exists()


def test_bad_account_input_names_every_field(users):
    bank = Account.objects.get(key="bank_operating")
    with pytest.raises(InvalidInput) as caught:
        services.account_create(
            actor=users["manager"], code=bank.code, name=" ", type="expense", parent=bank
        )
    assert set(caught.value.errors) == {"code", "name", "parent"}
    with pytest.raises(InvalidInput, match="under itself"):
        heading = Account.objects.get(key="cash")
        services.account_update(
            actor=users["manager"], account=heading, code=heading.code, name=heading.name,
            parent=bank,
        )  # fmt: skip


def test_an_account_with_a_balance_is_not_deactivated(users):
    services.post(expense(1, DAY, "5.00"), actor=users["manager"])
    rent = Account.objects.get(key="rent_expense")
    with pytest.raises(InvalidTransition, match=r"holds \$5.00"):
        services.account_deactivate(actor=users["manager"], account=rent)
    rent.refresh_from_db()
    assert rent.is_active
    fees = Account.objects.get(key="card_fees")
    services.account_deactivate(actor=users["manager"], account=fees)
    with pytest.raises(InvalidInput, match="inactive"):
        services.post(
            Posting(
                source_type="tests.fee", source_id=1, date=DAY,
                lines=[Line("card_fees", debit="1"), Line("bank_operating", credit="1")],
            ),
            actor=users["manager"],
        )  # fmt: skip


@pytest.mark.parametrize("role", ["front_desk", "biller", "auditor"])
def test_the_chart_needs_the_permission(users, role):
    with pytest.raises(NotPermitted):
        services.account_create(actor=users[role], code="9000", name="X", type="asset")
    assert not Account.objects.filter(code="9000").exists()


def test_the_batch_writer_names_every_column_of_the_journal():
    """post_many writes rows with plain INSERTs: a column added to the models must be added to
    its column lists too (or this fails)."""
    from medoffice.ledger.services import posting

    for model, columns in (
        (JournalEntry, posting._ENTRY_COLUMNS),
        (JournalLine, posting._LINE_COLUMNS),
    ):
        wanted = {f.column for f in model._meta.concrete_fields} - (
            {"id"} if model is JournalLine else set()
        )
        assert set(columns) == wanted, model


def test_a_batch_returns_entries_as_written(users):
    entries = services.post_many(
        [sale(n, DAY, "3.00") for n in range(1, 4)], actor=users["manager"]
    )
    for entry in entries:
        fresh = JournalEntry.objects.get(pk=entry.pk)
        assert (entry.source_key, entry.total_cents, entry.date, entry.posted_by_id) == (
            fresh.source_key, fresh.total_cents, fresh.date, fresh.posted_by_id,
        )  # fmt: skip
        assert entry.lines.count() == 2 and not entry._state.adding


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_idempotency_key_from_many_threads_submits_once(users, monkeypatch):
    """With the service's own look-up switched off, the unique key alone keeps it to one."""
    import threading

    from django.db import connections

    from medoffice.ledger.services import manual

    monkeypatch.setattr(manual, "_earlier", lambda actor, key: None)
    lines = two_lines()
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            draft = services.manual_entry_submit(
                actor=users["manager"], date=DAY, memo="Race", lines=lines, idempotency_key="r"
            )
            outcomes.append(f"draft:{draft.pk}")
        except Exception as exc:  # reported, so the assertion shows it
            outcomes.append(f"error:{type(exc).__name__}:{exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("draft:"), outcomes
    assert ManualEntry.objects.count() == 1 and JournalEntry.objects.count() == 1


# --- Reversals ----------------------------------------------------------------------------------


def test_a_reversal_needs_authority_covering_the_entry(users):
    from django.urls import reverse

    draft = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Accrual", lines=two_lines("10000.01")
    )
    approval_decide(request_id=draft.approval_id, decided_by=users["owner"], approve=True)
    draft.refresh_from_db()
    with pytest.raises(NotPermitted) as refused:
        services.entry_reverse(entry_id=draft.entry_id, actor=users["manager"], reason="oops")
    words = refused.value.message
    assert "$10,000.01" in words and "authority is $10,000.00" in words and "Owner" in words
    assert not JournalEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    from django.test import Client

    page = Client()
    page.force_login(users["manager"])
    answer = page.post(
        reverse("ledger:entry_reverse", args=[draft.entry_id]), {"reason": "x"}, follow=True
    )
    assert answer.redirect_chain[-1][0] == reverse("ledger:entry_detail", args=[draft.entry_id])
    assert "authority is $10,000.00" in answer.content.decode()
    assert not JournalEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    reversal = services.entry_reverse(entry_id=draft.entry_id, actor=users["owner"], reason="oops")
    assert reversal.reverses_id == draft.entry_id
    # Within the manager's authority the manager reverses it.
    small = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Small", lines=two_lines("100.00")
    )
    services.entry_reverse(entry_id=small.entry_id, actor=users["manager"], reason="dup")


def test_a_reversal_is_not_dated_after_today(users):
    draft = services.manual_entry_submit(
        actor=users["manager"], date=DAY, memo="Reclass", lines=two_lines()
    )
    ahead = timezone.localdate() + dt.timedelta(days=365)
    for day in (ahead, timezone.localdate() + dt.timedelta(days=1)):
        with pytest.raises(InvalidInput, match="date the reversal between"):
            services.entry_reverse(
                entry_id=draft.entry_id, actor=users["manager"], reason="x", on=day
            )
    assert not JournalEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    services.entry_reverse(
        entry_id=draft.entry_id, actor=users["manager"], reason="x", on=timezone.localdate()
    )
