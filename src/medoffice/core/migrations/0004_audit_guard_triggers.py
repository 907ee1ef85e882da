"""Database triggers refusing UPDATE and DELETE on the audit trail (SQLite and PostgreSQL).

The SQL is copied here on purpose: migrations do not import app code.
"""

from django.db import migrations

TABLE = "core_auditevent"
MESSAGE = "the audit trail is append-only: UPDATE and DELETE are refused"

SQL = {
    "sqlite": (
        [
            f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
            f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        ],
        [
            f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
            f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
        ],
    ),
    "postgresql": (
        [
            f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
            f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
            f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()",
            f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse()",
        ],
        [
            f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
            f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
            f"DROP FUNCTION IF EXISTS {TABLE}_refuse()",
        ],
    ),
}


def _run(schema_editor, install: bool) -> None:
    statements = SQL.get(schema_editor.connection.vendor)
    if statements is None:
        return  # another database: the app-level refusals still apply
    for sql in statements[0 if install else 1]:
        schema_editor.execute(sql, params=None)


def install(apps, schema_editor):
    _run(schema_editor, True)


def remove(apps, schema_editor):
    _run(schema_editor, False)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_event_manager")]
    operations = [migrations.RunPython(install, remove)]
