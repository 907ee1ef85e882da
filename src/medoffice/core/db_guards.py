"""Database triggers that keep the audit trail append-only, below the app.

On `core_auditevent` every UPDATE and DELETE is refused except one: sealing an unsealed
event, which fills `seq`, `prev_hash`, `hash` and `seal_key` (all empty before) and changes
nothing else.
On `core_auditsecret` (the encrypted protected values of events) DELETE is refused, and so is
moving a row to another event; its ciphertext may be rewritten (key rotation), which the
event's digests make harmless: a different plaintext no longer matches them.

The migrations that install them keep their own copy of this SQL (migrations are frozen);
this module serves the commands that must lift the guard for a moment (`flush`, which
empties every table of a test or demo database).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

TABLE = "core_auditevent"
SECRETS = "core_auditsecret"
MESSAGE = "the audit trail is append-only: UPDATE and DELETE are refused"
# Every column but the four that sealing fills (seq, prev_hash, hash, seal_key).
FIXED_COLUMNS = (
    "id", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
    "patient_id", "ip_address", "user_agent", "changes", "reason", "flagged", "key_id", "nonce",
    "digest",
)  # fmt: skip

_SQLITE_SEALING = (
    "OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL AND OLD.seal_key IS NULL "
    "AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL "
    "AND NEW.seal_key IS NOT NULL AND "
    + " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in FIXED_COLUMNS)
)
_PG_NEW = ", ".join(f'NEW."{c}"' for c in FIXED_COLUMNS)
_PG_OLD = ", ".join(f'OLD."{c}"' for c in FIXED_COLUMNS)

SQLITE_INSTALL = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
    f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
    f"WHEN NOT ({_SQLITE_SEALING}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {SECRETS}_no_move BEFORE UPDATE OF event_id ON {SECRETS} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {SECRETS}_no_delete BEFORE DELETE ON {SECRETS} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
    f"DROP TRIGGER IF EXISTS {SECRETS}_no_move",
    f"DROP TRIGGER IF EXISTS {SECRETS}_no_delete",
]

POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
       AND OLD.seal_key IS NULL AND NEW.seal_key IS NOT NULL
       AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
       AND ROW({_PG_NEW}) IS NOT DISTINCT FROM ROW({_PG_OLD}) THEN
        RETURN NEW;  -- sealing: the chain fields filled once, nothing else changed
    END IF;
    RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse()",
    f"""CREATE OR REPLACE FUNCTION {SECRETS}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    f"DROP TRIGGER IF EXISTS {SECRETS}_no_change ON {SECRETS}",
    f"CREATE TRIGGER {SECRETS}_no_change BEFORE UPDATE OF event_id OR DELETE ON {SECRETS} "
    f"FOR EACH ROW EXECUTE FUNCTION {SECRETS}_refuse()",
    f"DROP TRIGGER IF EXISTS {SECRETS}_no_truncate ON {SECRETS}",
    f"CREATE TRIGGER {SECRETS}_no_truncate BEFORE TRUNCATE ON {SECRETS} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {SECRETS}_refuse()",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {SECRETS}_no_change ON {SECRETS}",
    f"DROP TRIGGER IF EXISTS {SECRETS}_no_truncate ON {SECRETS}",
]
TRIGGER_COUNT = 4  # on the two tables together, either engine


def statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
    if vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_REMOVE
    return []  # other databases: the app-level refusals still apply


def install(connection) -> None:
    with connection.cursor() as cursor:
        for sql in statements(connection.vendor, install=True):
            cursor.execute(sql)


def remove(connection) -> None:
    with connection.cursor() as cursor:
        for sql in statements(connection.vendor, install=False):
            cursor.execute(sql)


def installed(connection) -> bool:
    """Whether the guard triggers exist (used by checks and tests)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                [TABLE, SECRETS],
            )
            return cursor.fetchone()[0] == TRIGGER_COUNT
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid IN (%s::regclass, %s::regclass) "
                "AND NOT tgisinternal",
                [TABLE, SECRETS],
            )
            return cursor.fetchone()[0] == TRIGGER_COUNT
    return False


# --- Guards other apps install on their own tables ---------------------------------------------


@dataclass(frozen=True)
class Guard:
    """Triggers an app keeps on its tables (the ledger's balanced, append-only books).

    `install` and `remove` map a database vendor to its statements. Emptying the database
    (`flush`) and loading a backup's rows (`restore`) lift them for the moment they work.
    """

    name: str
    tables: tuple[str, ...]
    install: Mapping[str, Sequence[str]]
    remove: Mapping[str, Sequence[str]]


_app_guards: dict[str, Guard] = {}


def register(guard: Guard) -> None:
    """Called from an app's AppConfig.ready(); registering again is harmless."""
    _app_guards[guard.name] = guard


def app_guards() -> list[Guard]:
    return list(_app_guards.values())


def _run(connection, statements: Sequence[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


@contextmanager
def app_guards_lifted(connection) -> Iterator[None]:
    """Remove the registered apps' triggers (where their tables exist), put them back after."""
    existing = set(connection.introspection.table_names())
    lifted = [g for g in _app_guards.values() if set(g.tables) <= existing]
    for guard in lifted:
        _run(connection, guard.remove.get(connection.vendor, ()))
    try:
        yield
    finally:
        for guard in lifted:
            _run(connection, guard.install.get(connection.vendor, ()))
