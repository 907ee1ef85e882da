"""Operating the installation: migrations, whether the database holds data, wiping it."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from medoffice.core.exceptions import MedofficeError


class DatabaseUnavailable(MedofficeError):
    code = "database_unavailable"
    status = 503
    message = "The database cannot be reached."


def describe_database() -> str:
    """Where the data lives, for messages (no password)."""
    db = settings.DATABASES[DEFAULT_DB_ALIAS]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite database {db['NAME']}"
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"PostgreSQL database {db.get('NAME')} on {host}{port}"


def check_connection(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Open the connection now, so an unreachable database is one clear error, not a traceback."""
    from django.db.utils import OperationalError

    try:
        connections[alias].ensure_connection()
    except OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"cannot reach the {describe_database()}: {first}") from exc


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    executor = MigrationExecutor(connections[alias])
    targets = executor.loader.graph.leaf_nodes()
    return [f"{m.app_label}.{m.name}" for m, _ in executor.migration_plan(targets)]


def migrate(*, verbosity: int = 0) -> int:
    """Apply every pending migration; returns how many there were."""
    check_connection()
    pending = pending_migrations()
    if pending:
        call_command("migrate", interactive=False, verbosity=verbosity)
    return len(pending)


def require_migrated() -> None:
    check_connection()
    pending = pending_migrations()
    if pending:
        raise MedofficeError(
            f"the database needs {len(pending)} migration(s): run `medoffice migrate` first",
            code="needs_migrate",
        )


# Rows of these mean the installation is in use (migrations alone create none of them).
IN_USE_TABLES = ("core_practice", "core_user", "core_auditevent")


def database_has_data(alias: str = DEFAULT_DB_ALIAS) -> bool:
    connection = connections[alias]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in IN_USE_TABLES:
            if table in existing:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608 (fixed names)
                if cursor.fetchone() is not None:
                    return True
    return False


def media_has_files() -> bool:
    root = Path(settings.MEDIA_ROOT)
    return root.exists() and any(path.is_file() for path in root.rglob("*"))


def wipe_database(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Remove every table (and trigger, function…) so the database is as on a fresh install."""
    connection = connections[alias]
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        connections.close_all()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
    else:  # pragma: no cover
        raise MedofficeError(f"wiping a {connection.vendor} database is not supported")


def wipe_media() -> None:
    root = Path(settings.MEDIA_ROOT)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
