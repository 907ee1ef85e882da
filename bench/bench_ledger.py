"""The books: entries posted per second in one batch, and the trial balance over 1M lines.

- `ledger_post_many`: journal entries (two lines each, over several accounts, locations and
  patients' accounts) written by one `post_many` call, per second (target: at least 5,000/s
  on SQLite).
- `ledger_trial_balance_1m`: seconds for `selectors.trial_balance()` over 1,000,000 journal
  lines (500,000 entries spread over two years), best of a few runs (target: under 0.5 s
  on SQLite and on PostgreSQL). The lines are written with bulk SQL that goes through the
  guards like any other writer: the lines first, then their entries, whose insert trigger
  checks each one balances.
- `*_cpu` figures: the same in this process's CPU seconds (SQLite runs in-process), which a
  busy shared machine does not inflate; `*_machine_load_average` says how busy it was.
- `ledger_pg_*`: the same on PostgreSQL (slow to build: the guards' commit-time check runs
  once per line; about 10 minutes on a busy 2-core machine). The server comes from MEDOFFICE_BENCH_POSTGRES_URL
  (e.g. postgres://postgres@127.0.0.1:5432/postgres): a throwaway database is created there
  and dropped afterwards. Without it the line says it was skipped.
"""

# ruff: noqa: S608 (the SQL is built from constants and numbers, never from input)

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

BATCH = 20_000  # entries in the post_many batch
LINES = 1_000_000  # lines under the trial balance
CHUNK = 100_000  # entries written per bulk SQL statement
FIRST_DAY = dt.date(2024, 1, 1)
DAYS = 730
TB_RUNS = 5


def _accounts() -> list[int]:
    from medoffice.ledger import services
    from medoffice.ledger.models import Account

    services.ensure_chart()
    return list(
        Account.objects.filter(is_postable=True, is_active=True)
        .order_by("code")
        .values_list("pk", flat=True)
    )


def _actor():
    from medoffice.testing import factories

    factories.practice()
    return factories.user("manager")


def _post_many_rate(actor) -> tuple[float, float]:
    from medoffice.ledger import services
    from medoffice.ledger.services import Line, Posting
    from medoffice.testing import factories

    places = [factories.location(name=f"Bench site {n}") for n in range(3)]
    keys = [
        ("bank_operating", "revenue:office_visits"),
        ("cash_drawer", "revenue:procedures"),
        ("card_clearing", "revenue:laboratory"),
        ("supplies_expense", "bank_operating"),
    ]

    def batch(tag: str, count: int) -> list[Posting]:
        postings = []
        for n in range(count):
            debit, credit = keys[n % len(keys)]
            amount = f"{(n % 9_000) + 1}.{n % 100:02d}"
            postings.append(
                Posting(
                    source_type="bench.sale",
                    source_id=f"{tag}-{n}",
                    date=FIRST_DAY + dt.timedelta(days=n % DAYS),
                    location=places[n % len(places)],
                    lines=[Line(debit, debit=amount), Line(credit, credit=amount)],
                )
            )
        return postings

    services.post_many(batch("warm", 200), actor=actor)  # accounts made, caches warm
    postings = batch("run", BATCH)
    started, cpu = time.perf_counter(), time.process_time()
    services.post_many(postings, actor=actor)
    return BATCH / (time.perf_counter() - started), BATCH / (time.process_time() - cpu)


def _bulk_lines(accounts: list[int], total_lines: int) -> float:
    """Write `total_lines` lines (two per entry) with set-based SQL: lines, then entries."""
    from django.db import connection, transaction

    from medoffice.ledger.models import JournalEntry

    entries = total_lines // 2
    started = time.perf_counter()
    first_id = (JournalEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    n_accounts = len(accounts)
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        if sqlite:  # a bigger page cache: 1M lines go into eight indexes
            cursor.execute("PRAGMA cache_size = -400000")
        cursor.execute("CREATE TEMPORARY TABLE bench_accounts (n integer PRIMARY KEY, id bigint)")
        cursor.executemany(
            "INSERT INTO bench_accounts (n, id) VALUES (%s, %s)", list(enumerate(accounts))
        )
    for offset in range(0, entries, CHUNK):
        if not sqlite:  # fresh statistics, so the guards' cached plans use the entry index
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE ledger_journalline, ledger_journalentry")
        count = min(CHUNK, entries - offset)
        low = first_id + offset
        high = low + count - 1
        if sqlite:
            series = (
                "WITH RECURSIVE s(i) AS (SELECT %s UNION ALL SELECT i + 1 FROM s WHERE i < %s) "
            )
            day = f"date('{FIRST_DAY.isoformat()}', '+' || (i %% {DAYS}) || ' days')"
            now = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
            source = "s"
        else:
            series = "WITH s(i) AS (SELECT generate_series(%s::bigint, %s::bigint)) "
            day = f"(DATE '{FIRST_DAY.isoformat()}' + (i %% {DAYS})::int)"
            now = "now()"
            source = "s"
        amount = "(1 + (i * 7919) %% 500000)"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                series + "INSERT INTO ledger_journalline "
                "(entry_id, account_id, date, amount_cents, memo) "
                f"SELECT i, a.id, {day}, {amount}, '' FROM {source} "
                f"JOIN bench_accounts a ON a.n = i %% {n_accounts} "
                "UNION ALL "
                f"SELECT i, b.id, {day}, -{amount}, '' FROM {source} "
                f"JOIN bench_accounts b ON b.n = (i * 3 + 1) %% {n_accounts}",
                [low, high],
            )
            cursor.execute(
                series + "INSERT INTO ledger_journalentry "
                "(id, date, kind, memo, source_type, source_id, source_key, total_cents, "
                "posted_at) "
                f"SELECT i, {day}, 'event', '', 'bench.bulk', i, 'bench.bulk:' || i, {amount}, "
                f"{now} FROM {source}",
                [low, high],
            )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_accounts")
        if not sqlite:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), "
                "(SELECT max(id) FROM ledger_journalentry))"
            )
            cursor.execute("ANALYZE ledger_journalline")
            cursor.execute("ANALYZE ledger_journalentry")
        else:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _trial_balance_seconds(as_of: dt.date) -> tuple[float, float]:
    """The best of a few runs of the trial balance as of a date (each balanced, or it stops):
    seconds of wall clock, and of this process's CPU (on SQLite the query runs in-process, so
    that is the figure a busy shared machine does not inflate)."""
    from medoffice.ledger import selectors

    best, best_cpu = float("inf"), float("inf")
    for _ in range(TB_RUNS):
        started, cpu = time.perf_counter(), time.process_time()
        balance = selectors.trial_balance(as_of)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        if not balance.balanced or not balance.rows:
            raise SystemExit("the trial balance does not net to zero")
    return best, best_cpu


def measure() -> dict[str, float]:
    """Both figures on the database Django is set up on."""
    actor = _actor()
    rate, cpu_rate = _post_many_rate(actor)
    accounts = _accounts()
    from medoffice.ledger.models import JournalLine

    already = JournalLine.objects.count()
    build = _bulk_lines(accounts, LINES - already)
    lines = JournalLine.objects.count()
    end, end_cpu = _trial_balance_seconds(FIRST_DAY + dt.timedelta(days=DAYS))
    mid, mid_cpu = _trial_balance_seconds(FIRST_DAY + dt.timedelta(days=DAYS // 2))
    return {
        "post_many": rate, "post_many_cpu": cpu_rate, "build": build, "tb": end,
        "tb_cpu": end_cpu, "tb_mid": mid, "tb_mid_cpu": mid_cpu, "lines": lines,
        "load": os.getloadavg()[0],
    }  # fmt: skip


PG_CHILD = """
import json, sys
import django
from django.core.management import call_command
django.setup()
call_command("migrate", interactive=False, verbosity=0)
import importlib.util
spec = importlib.util.spec_from_file_location("bench_ledger", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(module.measure()))
"""


def _figures(prefix: str, got: dict[str, float]) -> list[tuple[str, float, str]]:
    return [
        (f"{prefix}_post_many", got["post_many"], "entries/s"),
        (f"{prefix}_post_many_per_cpu_second", got["post_many_cpu"], "entries/s"),
        (f"{prefix}_bulk_build_1m", got["build"], "s"),
        (f"{prefix}_trial_balance_1m", got["tb"], "s"),
        (f"{prefix}_trial_balance_1m_as_of_midway", got["tb_mid"], "s"),
        *(
            [
                (f"{prefix}_trial_balance_1m_cpu", got["tb_cpu"], "s"),
                (f"{prefix}_trial_balance_1m_as_of_midway_cpu", got["tb_mid_cpu"], "s"),
            ]
            if prefix.endswith("sqlite")
            else []
        ),
        (f"{prefix}_machine_load_average", got["load"], "runnable"),
        (f"{prefix}_trial_balance_lines", got["lines"], "lines"),
    ]


def _postgres() -> list[tuple[str, float, str]]:
    server = os.environ.get("MEDOFFICE_BENCH_POSTGRES_URL", "")
    if not server:
        print(
            "ledger_pg: skipped (set MEDOFFICE_BENCH_POSTGRES_URL to a PostgreSQL server URL)",
            flush=True,
        )
        return []
    import psycopg

    name = f"medoffice_bench_ledger_{secrets.token_hex(4)}"
    base = server.rsplit("/", 1)[0]
    try:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"ledger_pg: skipped (PostgreSQL unavailable: {exc})", flush=True)
        return []
    try:
        env = dict(os.environ, DATABASE_URL=f"{base}/{name}")
        env["PYTHONPATH"] = os.pathsep.join(sys.path)
        done = subprocess.run(
            [sys.executable, "-c", PG_CHILD, str(Path(__file__).resolve())],
            env=env, capture_output=True, text=True, check=False, cwd=Path.cwd(),
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"the PostgreSQL benchmark failed: {done.stderr[-2000:]}")
        got = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return _figures("ledger_pg", got)


def run() -> list[tuple[str, float, str]]:
    for figure in _figures("ledger_sqlite", measure()):
        print(f"{figure[0]}: {figure[1]:.6g} {figure[2]}", flush=True)
    return _postgres()
