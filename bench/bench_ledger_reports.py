"""The books' reports over a large ledger: seconds for the trial balance, the income statement,
the balance sheet, a page of general-ledger detail, a patient's statement, the cash tile,
`ledger verify`, and journal lines exported per second.

MEDOFFICE_BENCH_LEDGER_LINES (default 1,000,000) lines are written straight with SQL, the
guards lifted for the load and put back before anything is measured (as `restore` does).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time

ENTRIES_PER_PATIENT = 400


def _load(lines: int) -> dict:
    from django.db import connection, transaction

    from medoffice.core.models import Location
    from medoffice.ledger import guards, services
    from medoffice.patients.models import Patient
    from medoffice.testing import factories
    from medoffice.testing import patients_factories as pf

    factories.practice()
    places = [factories.location(name=f"Site {n}") for n in range(3)]
    patients = [pf.patient() for _ in range(max(lines // 2 // ENTRIES_PER_PATIENT, 1))]
    keys = ["bank_operating", "revenue:office_visits", "revenue:procedures", "rent_expense",
            "supplies_expense", "card_clearing", "insurance_ar"]  # fmt: skip
    accounts = {key: services.account_by_key(key).pk for key in keys}
    ar = services.account_by_key("patient_ar").pk
    drawers = [services.account_for("cash_drawer", location=place).pk for place in places]
    rng = random.Random(7)
    start = dt.date(2025, 1, 1)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    entry_rows, line_rows = [], []
    for entry_id in range(1, lines // 2 + 1):
        day = start + dt.timedelta(days=rng.randrange(700))
        cents = rng.randrange(500, 50_000)
        place = places[entry_id % 3]
        kind = entry_id % 4
        if kind == 0:  # a charge to a patient
            patient = patients[entry_id % len(patients)].pk
            debit = (ar, patient)
            credit = accounts["revenue:office_visits"]
        elif kind == 1:  # a payment at the desk
            patient = patients[entry_id % len(patients)].pk
            debit = (drawers[entry_id % 3], None)
            credit = ar
        elif kind == 2:
            debit, credit, patient = (
                (accounts["insurance_ar"], None),
                accounts["revenue:procedures"],
                None,
            )
        else:
            debit, credit, patient = (
                (accounts["rent_expense"], None),
                accounts["bank_operating"],
                None,
            )
        source = "reception.payment" if kind == 1 else "bench.event"
        entry_rows.append((entry_id, day, "event", "", source, str(entry_id),
                           f"{source}:{entry_id}", cents, place.pk, now))  # fmt: skip
        line_rows.append((entry_id, debit[0], day, cents, place.pk, debit[1], ""))
        line_rows.append((entry_id, credit, day, -cents, place.pk,
                          patient if credit == ar else None, ""))  # fmt: skip
    with transaction.atomic():
        guards.remove(connection)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO ledger_journalentry (id, date, kind, memo, source_type, source_id, "
                "source_key, total_cents, location_id, posted_at) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                entry_rows,
            )
            cursor.executemany(
                "INSERT INTO ledger_journalline (entry_id, account_id, date, amount_cents, "
                "location_id, patient_id, memo) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                line_rows,
            )
        guards.install(connection)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    assert Location.objects.count() == 3 and Patient.objects.exists()
    return {"patient": patients[0].pk, "bank": accounts["bank_operating"]}


def _seconds(action, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - began)
    return best


def run() -> list[tuple[str, float, str]]:
    from medoffice.ledger import cash, exports, reports, selectors, verify
    from medoffice.ledger.models import Account, JournalLine

    lines = int(os.environ.get("MEDOFFICE_BENCH_LEDGER_LINES", "1000000"))
    began = time.perf_counter()
    made = _load(lines)
    load = time.perf_counter() - began
    count = JournalLine.objects.count()
    bank = Account.objects.get(pk=made["bank"])
    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    export_lines = min(count, 100_000)
    exported = dt.date(2025, 1, 1) + dt.timedelta(days=int(700 * export_lines / count))

    def export() -> None:
        for _ in exports.journal_csv(until=exported):
            pass

    export_seconds = _seconds(export, repeat=1)
    return [
        ("ledger_lines", count, "lines"),
        ("ledger_load_seconds", load, "s"),
        ("trial_balance", _seconds(lambda: selectors.trial_balance(dt.date(2026, 12, 31))), "s"),
        ("income_statement_12_months", _seconds(
            lambda: reports.income_statement(since=year[0], until=year[1])), "s"),
        ("income_statement_by_location", _seconds(
            lambda: reports.income_statement(since=year[0], until=year[1], by="location")), "s"),
        ("balance_sheet", _seconds(lambda: reports.balance_sheet(dt.date(2026, 12, 31))), "s"),
        ("ledger_detail_first_page", _seconds(
            lambda: reports.account_detail(bank, since=year[0], until=year[1])), "s"),
        ("ledger_detail_last_page", _seconds(
            lambda: reports.account_detail(bank, since=year[0], until=year[1], offset=10**9)), "s"),
        ("patient_statement", _seconds(lambda: reports.patient_activity(made["patient"])), "s"),
        ("cash_tile", _seconds(lambda: cash.cash_collected(dt.date(2026, 11, 30))), "s"),
        ("ledger_verify", _seconds(lambda: list(verify.problems()), repeat=1), "s"),
        ("journal_csv_export", export_lines / export_seconds, "lines/s"),
    ]  # fmt: skip
