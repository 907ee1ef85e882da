"""Every model change has its migration, and the audit guard migration is in place."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(f"A model change has no migration:\n{out.getvalue()}")
        raise AssertionError from exc


@pytest.mark.django_db
def test_the_audit_guard_is_a_migration_step():
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connection).applied_migrations()
    assert ("core", "0004_audit_guard_triggers") in applied
