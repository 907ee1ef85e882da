"""Database triggers that keep the books balanced and append-only, below the app.

Lines are written first, then their entry: inserting the entry checks, in the database, that
its lines (at least two) sum to zero, that their debits equal the entry's total, that they
carry its date, and that the books are not closed through that date (a closed month holds it,
or a later one: months close in order, so a day before a closed month is closed too). A line for an entry already
written is refused, and so is any UPDATE or DELETE (and TRUNCATE on PostgreSQL) of either
table. A line whose entry never comes fails its foreign key at commit (the keys are
deferred); on PostgreSQL a deferred trigger also re-checks each line's entry at commit, so a
line slipped in by a concurrent transaction cannot unbalance an entry it could not see.

Migrations install a frozen copy of this SQL (`migrations/_guards_NNNN.py`): a change here
needs a migration that installs it again with a copy of its own (`test_guards_frozen`).
"""

# ruff: noqa: S608 (the SQL is built from this module's constant table names, never from input)

from __future__ import annotations

from medoffice.core.db_guards import Guard

LINE = "ledger_journalline"
ENTRY = "ledger_journalentry"
PERIOD = "ledger_fiscalperiod"

UNBALANCED = (
    "ledger: an entry must have two or more lines that sum to zero, debits equal to its total, "
    "all on its date"
)
CLOSED = "ledger: the books are closed through this date"
LINE_LATE = "ledger: a written entry takes no more lines; post a new entry"
IMMUTABLE = "ledger: journal entries and lines are never changed or deleted; post a reversal"

# One pass over the entry's lines (by the entry_id index) answers all four questions.
_SQLITE_UNBALANCED = (
    "(SELECT count(*) < 2 OR coalesce(sum(amount_cents), 0) != 0"
    " OR coalesce(sum(CASE WHEN amount_cents > 0 THEN amount_cents ELSE 0 END), 0)"
    " != NEW.total_cents"
    " OR coalesce(max(date != NEW.date), 0)"
    f" FROM {LINE} WHERE entry_id = NEW.id)"
)
_SQLITE_NAMES = (
    "ledger_line_insert", "ledger_line_no_update", "ledger_line_no_delete",
    "ledger_entry_balanced", "ledger_entry_open_period", "ledger_entry_no_update",
    "ledger_entry_no_delete",
)  # fmt: skip

SQLITE_INSTALL = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_NAMES),
    f"CREATE TRIGGER ledger_line_insert BEFORE INSERT ON {LINE} "
    f"WHEN EXISTS (SELECT 1 FROM {ENTRY} WHERE id = NEW.entry_id) "
    f"BEGIN SELECT RAISE(ABORT, '{LINE_LATE}'); END",
    f"CREATE TRIGGER ledger_line_no_update BEFORE UPDATE ON {LINE} "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END",
    f"CREATE TRIGGER ledger_line_no_delete BEFORE DELETE ON {LINE} "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END",
    f"CREATE TRIGGER ledger_entry_balanced BEFORE INSERT ON {ENTRY} "
    f"WHEN {_SQLITE_UNBALANCED} BEGIN SELECT RAISE(ABORT, '{UNBALANCED}'); END",
    f"CREATE TRIGGER ledger_entry_open_period BEFORE INSERT ON {ENTRY} "
    f"WHEN EXISTS (SELECT 1 FROM {PERIOD} WHERE status = 'closed' "
    f'AND NEW.date <= "end") '
    f"BEGIN SELECT RAISE(ABORT, '{CLOSED}'); END",
    f"CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON {ENTRY} "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END",
    f"CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON {ENTRY} "
    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END",
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_NAMES]

_PG_TRIGGERS = (
    (LINE, "ledger_line_guard"), (LINE, "ledger_line_no_truncate"), (LINE, "ledger_line_settled"),
    (ENTRY, "ledger_entry_guard"), (ENTRY, "ledger_entry_no_truncate"),
)  # fmt: skip

POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{IMMUTABLE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    f"""CREATE OR REPLACE FUNCTION ledger_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM {ENTRY} WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION '{LINE_LATE}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{IMMUTABLE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    f"""CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    net bigint;
    debits bigint;
    off_date boolean;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION '{IMMUTABLE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT count(*), coalesce(sum(amount_cents), 0),
           coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0),
           coalesce(bool_or(date <> NEW.date), false)
      INTO n, net, debits, off_date
      FROM {LINE} WHERE entry_id = NEW.id;
    IF n < 2 OR net <> 0 OR debits <> NEW.total_cents OR off_date THEN
        RAISE EXCEPTION '{UNBALANCED}' USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM {PERIOD} WHERE status = 'closed'
               AND NEW.date <= "end") THEN
        RAISE EXCEPTION '{CLOSED}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$""",
    f"""CREATE OR REPLACE FUNCTION ledger_line_settled() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    SELECT total_cents INTO total FROM {ENTRY} WHERE id = NEW.entry_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION '{UNBALANCED}' USING ERRCODE = 'check_violation';
    END IF;
    IF (SELECT coalesce(sum(amount_cents), 0) <> 0
               OR coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0) <> total
          FROM {LINE} WHERE entry_id = NEW.entry_id) THEN
        RAISE EXCEPTION '{UNBALANCED}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$""",
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in _PG_TRIGGERS),
    f"CREATE TRIGGER ledger_line_guard BEFORE INSERT OR UPDATE OR DELETE ON {LINE} "
    "FOR EACH ROW EXECUTE FUNCTION ledger_line_guard()",
    f"CREATE TRIGGER ledger_line_no_truncate BEFORE TRUNCATE ON {LINE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse()",
    f"CREATE CONSTRAINT TRIGGER ledger_line_settled AFTER INSERT ON {LINE} "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_line_settled()",
    f"CREATE TRIGGER ledger_entry_guard BEFORE INSERT OR UPDATE OR DELETE ON {ENTRY} "
    "FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard()",
    f"CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON {ENTRY} "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse()",
]
POSTGRES_REMOVE = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in _PG_TRIGGERS]

LEDGER_GUARD = Guard(
    name="ledger",
    tables=(LINE, ENTRY, PERIOD),
    install={"sqlite": SQLITE_INSTALL, "postgresql": POSTGRES_INSTALL},
    remove={"sqlite": SQLITE_REMOVE, "postgresql": POSTGRES_REMOVE},
)


def install(connection) -> None:
    with connection.cursor() as cursor:
        for sql in LEDGER_GUARD.install.get(connection.vendor, ()):
            cursor.execute(sql)


def remove(connection) -> None:
    with connection.cursor() as cursor:
        for sql in LEDGER_GUARD.remove.get(connection.vendor, ()):
            cursor.execute(sql)


def installed(connection) -> int:
    """How many of the ledger's triggers exist (7 on SQLite, 5 on PostgreSQL when whole)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ledger_%'"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid IN (%s::regclass, %s::regclass)",
                [LINE, ENTRY],
            )
        return int(cursor.fetchone()[0])


EXPECTED = {"sqlite": len(_SQLITE_NAMES), "postgresql": len(_PG_TRIGGERS)}
