"""The books' guard SQL as migration 0008 installs it, frozen here (migrations run no app
code: see ADR 0016): a day before a closed month is closed too. A change in
`medoffice.ledger.guards` ships with a new migration and a new frozen copy of its own;
`test_guards_frozen` holds the newest copy to the live SQL.
"""

from medoffice.ledger.migrations._guards_0003 import run  # frozen too: runs the statements

# fmt: off
SQLITE_INSTALL = [
    'DROP TRIGGER IF EXISTS ledger_line_insert',
    'DROP TRIGGER IF EXISTS ledger_line_no_update',
    'DROP TRIGGER IF EXISTS ledger_line_no_delete',
    'DROP TRIGGER IF EXISTS ledger_entry_balanced',
    'DROP TRIGGER IF EXISTS ledger_entry_open_period',
    'DROP TRIGGER IF EXISTS ledger_entry_no_update',
    'DROP TRIGGER IF EXISTS ledger_entry_no_delete',
    "CREATE TRIGGER ledger_line_insert BEFORE INSERT ON ledger_journalline WHEN EXISTS (SELECT 1 FROM ledger_journalentry WHERE id = NEW.entry_id) BEGIN SELECT RAISE(ABORT, 'ledger: a written entry takes no more lines; post a new entry'); END",
    "CREATE TRIGGER ledger_line_no_update BEFORE UPDATE ON ledger_journalline BEGIN SELECT RAISE(ABORT, 'ledger: journal entries and lines are never changed or deleted; post a reversal'); END",
    "CREATE TRIGGER ledger_line_no_delete BEFORE DELETE ON ledger_journalline BEGIN SELECT RAISE(ABORT, 'ledger: journal entries and lines are never changed or deleted; post a reversal'); END",
    "CREATE TRIGGER ledger_entry_balanced BEFORE INSERT ON ledger_journalentry WHEN (SELECT count(*) < 2 OR coalesce(sum(amount_cents), 0) != 0 OR coalesce(sum(CASE WHEN amount_cents > 0 THEN amount_cents ELSE 0 END), 0) != NEW.total_cents OR coalesce(max(date != NEW.date), 0) FROM ledger_journalline WHERE entry_id = NEW.id) BEGIN SELECT RAISE(ABORT, 'ledger: an entry must have two or more lines that sum to zero, debits equal to its total, all on its date'); END",
    'CREATE TRIGGER ledger_entry_open_period BEFORE INSERT ON ledger_journalentry WHEN EXISTS (SELECT 1 FROM ledger_fiscalperiod WHERE status = \'closed\' AND NEW.date <= "end") BEGIN SELECT RAISE(ABORT, \'ledger: the books are closed through this date\'); END',
    "CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_journalentry BEGIN SELECT RAISE(ABORT, 'ledger: journal entries and lines are never changed or deleted; post a reversal'); END",
    "CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_journalentry BEGIN SELECT RAISE(ABORT, 'ledger: journal entries and lines are never changed or deleted; post a reversal'); END",
]
SQLITE_REMOVE = [
    'DROP TRIGGER IF EXISTS ledger_line_insert',
    'DROP TRIGGER IF EXISTS ledger_line_no_update',
    'DROP TRIGGER IF EXISTS ledger_line_no_delete',
    'DROP TRIGGER IF EXISTS ledger_entry_balanced',
    'DROP TRIGGER IF EXISTS ledger_entry_open_period',
    'DROP TRIGGER IF EXISTS ledger_entry_no_update',
    'DROP TRIGGER IF EXISTS ledger_entry_no_delete',
]
POSTGRES_INSTALL = [
    "CREATE OR REPLACE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    RAISE EXCEPTION 'ledger: journal entries and lines are never changed or deleted; post a reversal (%)', TG_OP USING ERRCODE = 'insufficient_privilege';\nEND\n$$",
    "CREATE OR REPLACE FUNCTION ledger_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF TG_OP = 'INSERT' THEN\n        IF EXISTS (SELECT 1 FROM ledger_journalentry WHERE id = NEW.entry_id) THEN\n            RAISE EXCEPTION 'ledger: a written entry takes no more lines; post a new entry' USING ERRCODE = 'check_violation';\n        END IF;\n        RETURN NEW;\n    END IF;\n    RAISE EXCEPTION 'ledger: journal entries and lines are never changed or deleted; post a reversal (%)', TG_OP USING ERRCODE = 'insufficient_privilege';\nEND\n$$",
    'CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$\nDECLARE\n    n bigint;\n    net bigint;\n    debits bigint;\n    off_date boolean;\nBEGIN\n    IF TG_OP <> \'INSERT\' THEN\n        RAISE EXCEPTION \'ledger: journal entries and lines are never changed or deleted; post a reversal (%)\', TG_OP USING ERRCODE = \'insufficient_privilege\';\n    END IF;\n    SELECT count(*), coalesce(sum(amount_cents), 0),\n           coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0),\n           coalesce(bool_or(date <> NEW.date), false)\n      INTO n, net, debits, off_date\n      FROM ledger_journalline WHERE entry_id = NEW.id;\n    IF n < 2 OR net <> 0 OR debits <> NEW.total_cents OR off_date THEN\n        RAISE EXCEPTION \'ledger: an entry must have two or more lines that sum to zero, debits equal to its total, all on its date\' USING ERRCODE = \'check_violation\';\n    END IF;\n    IF EXISTS (SELECT 1 FROM ledger_fiscalperiod WHERE status = \'closed\'\n               AND NEW.date <= "end") THEN\n        RAISE EXCEPTION \'ledger: the books are closed through this date\' USING ERRCODE = \'check_violation\';\n    END IF;\n    RETURN NEW;\nEND\n$$',
    "CREATE OR REPLACE FUNCTION ledger_line_settled() RETURNS trigger LANGUAGE plpgsql AS $$\nDECLARE\n    total bigint;\nBEGIN\n    SELECT total_cents INTO total FROM ledger_journalentry WHERE id = NEW.entry_id;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION 'ledger: an entry must have two or more lines that sum to zero, debits equal to its total, all on its date' USING ERRCODE = 'check_violation';\n    END IF;\n    IF (SELECT coalesce(sum(amount_cents), 0) <> 0\n               OR coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0) <> total\n          FROM ledger_journalline WHERE entry_id = NEW.entry_id) THEN\n        RAISE EXCEPTION 'ledger: an entry must have two or more lines that sum to zero, debits equal to its total, all on its date' USING ERRCODE = 'check_violation';\n    END IF;\n    RETURN NULL;\nEND\n$$",
    'DROP TRIGGER IF EXISTS ledger_line_guard ON ledger_journalline',
    'DROP TRIGGER IF EXISTS ledger_line_no_truncate ON ledger_journalline',
    'DROP TRIGGER IF EXISTS ledger_line_settled ON ledger_journalline',
    'DROP TRIGGER IF EXISTS ledger_entry_guard ON ledger_journalentry',
    'DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_journalentry',
    'CREATE TRIGGER ledger_line_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_journalline FOR EACH ROW EXECUTE FUNCTION ledger_line_guard()',
    'CREATE TRIGGER ledger_line_no_truncate BEFORE TRUNCATE ON ledger_journalline FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse()',
    'CREATE CONSTRAINT TRIGGER ledger_line_settled AFTER INSERT ON ledger_journalline DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_line_settled()',
    'CREATE TRIGGER ledger_entry_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_journalentry FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard()',
    'CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_journalentry FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse()',
]
POSTGRES_REMOVE = [
    'DROP TRIGGER IF EXISTS ledger_line_guard ON ledger_journalline',
    'DROP TRIGGER IF EXISTS ledger_line_no_truncate ON ledger_journalline',
    'DROP TRIGGER IF EXISTS ledger_line_settled ON ledger_journalline',
    'DROP TRIGGER IF EXISTS ledger_entry_guard ON ledger_journalentry',
    'DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_journalentry',
]
# fmt: on


INSTALL = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRES_INSTALL}
REMOVE = {"sqlite": SQLITE_REMOVE, "postgresql": POSTGRES_REMOVE}


def install_guards(apps, schema_editor):
    run(schema_editor.connection, INSTALL)


def remove_guards(apps, schema_editor):
    run(schema_editor.connection, REMOVE)
