"""Put the migrations' data (roles, permissions, counters) back after a transactional test.

A transactional test (real commits: threads, the live server) ends by emptying every table.
In one process pytest-django runs those tests last, so nothing runs after them; with xdist
(`--dist loadfile`, as CI runs) a worker takes whole files, and the next file's tests would
find no roles. So the database is snapshotted once after migrating, and after each
transactional test it is emptied and the snapshot loaded again.
"""

from __future__ import annotations

import pytest

_snapshots: dict[str, str] = {}  # database alias -> serialized rows, taken after migrating


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, plus the snapshot of what the migrations wrote."""
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            contents = getattr(connection, "_test_serialized_contents", None)
            if contents is None:
                contents = connection.creation.serialize_db_to_string()
                # Django's test database creation keeps its snapshot here too.
                connection._test_serialized_contents = contents  # type: ignore[attr-defined]
            _snapshots[connection.alias] = contents


def migration_snapshot(alias: str = "default") -> str | None:
    return _snapshots.get(alias)


def _is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        transaction = marker.kwargs.get("transaction", marker.args[0] if marker.args else False)
        if transaction or marker.kwargs.get("reset_sequences"):
            return True
    names = getattr(item, "fixturenames", ())
    return "transactional_db" in names or "live_server" in names


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    if nextitem is None or not _snapshots or not _is_transactional(item):
        return  # after the last test the test databases are already gone
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    # Content types and permissions left out of the snapshot are re-created by flush itself.
    recreate = "django.contrib.contenttypes" in getattr(settings, "TEST_NON_SERIALIZED_APPS", ())
    with item.config.stash[blocking_manager_key].unblock():
        for alias, contents in _snapshots.items():
            call_command(
                "flush", database=alias, interactive=False, verbosity=0,
                inhibit_post_migrate=not recreate,
            )  # fmt: skip
            connection = connections[alias]
            connection.creation.deserialize_db_from_string(contents)
            _reset_sequences(connection)


def _reset_sequences(connection) -> None:
    """Flush restarts PostgreSQL's id sequences at 1 and the snapshot's rows come back with
    their ids: move each sequence past them, or the next row made (a location's cash drawer
    account after the chart's) collides with a restored one."""
    if connection.vendor != "postgresql":
        return  # SQLite takes max(id) + 1
    from django.apps import apps
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
