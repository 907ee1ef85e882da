"""`medoffice ledger …`: the trial balance, closing a month as a named user, and verify finding
books changed behind the app's back (triggers dropped, rows edited with SQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection

from medoffice import cli
from medoffice.core.models import AuditEvent
from medoffice.ledger import guards, services
from medoffice.ledger.models import FiscalPeriod, JournalEntry, PeriodStatus
from medoffice.ledger.services import Line, Posting
from medoffice.testing import patients_factories as pf
from medoffice.testing.ops import one_line

pytestmark = pytest.mark.django_db


def sale(users, n, day, amount="25.00", **line):
    return services.post(
        Posting(
            source_type="tests.sale", source_id=str(n), date=day,
            lines=[Line("bank_operating", debit=amount), Line("revenue:other", credit=amount, **line)],
        ),
        actor=users["manager"],
    )  # fmt: skip


def test_trial_balance_prints_the_balances_and_csv(users, capsys):
    sale(users, 1, dt.date(2026, 10, 3))
    sale(users, 2, dt.date(2026, 11, 3), amount="10.50")
    assert cli.main(["ledger", "trial-balance", "--as-of", "2026-10-31"]) == 0
    out = capsys.readouterr().out
    assert "Trial balance as of 2026-10-31" in out
    assert "1030" in out and "$25.00" in out and "$35.50" not in out
    assert cli.main(["ledger", "trial-balance", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["account_code", "account_name", "type", "debit", "credit"]
    assert rows[-1] == ["", "Total", "", "35.50", "35.50"]
    assert cli.main(["ledger", "trial-balance", "--as-of", "31/10/2026"]) == 1
    assert "--as-of" in one_line(capsys.readouterr().err)


def test_close_period_needs_a_named_user_with_the_role(users, capsys):
    sale(users, 1, dt.date(2026, 10, 3))
    assert cli.main(["ledger", "close-period", "2026-10"]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    assert (
        cli.main(["ledger", "close-period", "2026-10", "--as", users["front_desk"].username]) == 1
    )
    capsys.readouterr()
    assert not FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED).exists()
    assert cli.main(["ledger", "close-period", "2026-13", "--as", users["manager"].username]) == 1
    assert "2026-13" in one_line(capsys.readouterr().err)
    assert cli.main(["ledger", "close-period", "2026-10", "--as", users["manager"].username]) == 0
    assert "Closed October 2026: 2 lines, debits $25.00." in capsys.readouterr().out
    period = FiscalPeriod.objects.get(start=dt.date(2026, 10, 1))
    assert period.status == PeriodStatus.CLOSED and period.closed_by == users["manager"]
    event = AuditEvent.objects.filter(object_type="ledger.fiscalperiod").first()
    assert event is not None and event.actor_id == users["manager"].pk
    assert cli.main(["ledger", "close-period", "2026-10", "--as", users["manager"].username]) == 1
    assert "already closed" in one_line(capsys.readouterr().err)


def test_verify_passes_on_books_written_by_the_app(users, capsys):
    sale(users, 1, dt.date(2026, 10, 3))
    services.close_period(month=dt.date(2026, 10, 1), actor=users["manager"])
    sale(users, 2, dt.date(2026, 11, 3))
    assert cli.main(["ledger", "verify"]) == 0
    assert (
        "The books are intact: 2 entries, 4 lines, 1 closed period(s)." in capsys.readouterr().out
    )


def test_verify_names_each_problem_after_the_triggers_are_dropped(users, capsys):
    patient = pf.patient()
    first = sale(users, 1, dt.date(2026, 10, 3))
    services.close_period(month=dt.date(2026, 10, 1), actor=users["manager"])
    second = sale(users, 2, dt.date(2026, 11, 3))
    third = sale(users, 3, dt.date(2026, 11, 4))
    assert cli.main(["ledger", "verify"]) == 0
    capsys.readouterr()

    guards.remove(connection)
    line_ids = list(first.lines.order_by("id").values_list("id", flat=True))
    with connection.cursor() as cursor:
        # A closed month's line edited: it no longer balances, and the month changed.
        cursor.execute(
            "UPDATE ledger_journalline SET amount_cents = 2600 WHERE id = %s", [line_ids[0]]
        )
        # A line moved off its entry's date.
        cursor.execute(
            "UPDATE ledger_journalline SET date = %s WHERE id = %s",
            [dt.date(2026, 11, 9), second.lines.order_by("id").first().pk],
        )
        # An entry's total changed, and its credit moved onto a heading account.
        cursor.execute("UPDATE ledger_journalentry SET total_cents = 9 WHERE id = %s", [third.pk])
        heading = services.account_by_key("revenue")
        cursor.execute(
            "UPDATE ledger_journalline SET account_id = %s WHERE entry_id = %s AND amount_cents < 0",
            [heading.pk, third.pk],
        )
        # A line for an entry that does not exist, on patient A/R without a patient.
        ar = services.account_by_key("patient_ar").pk
        cursor.execute(
            "INSERT INTO ledger_journalline (entry_id, account_id, date, amount_cents, memo) "
            "VALUES (%s, %s, %s, %s, '')",
            [987654, ar, dt.date(2026, 11, 5), 100],
        )
    assert patient  # (a patient exists; the line above names none)

    assert cli.main(["ledger", "verify"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    expected = guards.EXPECTED[connection.vendor]
    assert f"guards: 0 of the {expected} ledger triggers are installed" in out
    assert f"entries: entry {first.pk} does not balance: its lines sum to 1.00" in out
    assert f"entries: entry {third.pk} its total is 0.09 but its lines' debits are 25.00" in out
    assert "belongs to entry 987654, which does not exist" in out
    assert f"is dated 2026-11-09 but its entry {second.pk} is dated 2026-11-03" in out
    assert "on Patient accounts receivable names no patient" in out
    assert (
        "closed periods: October 2026 changed since it was closed: 2 lines and debits of 25.00 "
        "at close, now 2 lines and debits of 26.00 (net 1.00)"
    ) in out
    assert f"(entry {third.pk}) is on 4000 Patient service revenue, a heading account" in out
    assert one_line(captured.err) == "medoffice: the books have 8 problem(s)"
    assert JournalEntry.objects.count() == 3
    with connection.cursor() as cursor:  # the test's end checks foreign keys: take it out again
        cursor.execute("DELETE FROM ledger_journalline WHERE entry_id = 987654")
