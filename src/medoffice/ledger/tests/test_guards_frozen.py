"""The books' guards as the newest migration installed them are the guards the app expects:
a change to `medoffice.ledger.guards` without a migration installing it (and a frozen copy
of its own) fails here, before a database runs with other triggers than the code assumes."""

from __future__ import annotations

import importlib

from django.db import connection

from medoffice.ledger import guards

NEWEST = importlib.import_module("medoffice.ledger.migrations._guards_0003")


def test_the_newest_frozen_guard_sql_is_the_live_guard_sql():
    assert NEWEST.SQLITE_INSTALL == guards.SQLITE_INSTALL
    assert NEWEST.SQLITE_REMOVE == guards.SQLITE_REMOVE
    assert NEWEST.POSTGRES_INSTALL == guards.POSTGRES_INSTALL
    assert NEWEST.POSTGRES_REMOVE == guards.POSTGRES_REMOVE


def test_the_migrated_database_holds_every_guard(db):
    assert guards.installed(connection) == guards.EXPECTED[connection.vendor]


def test_the_frozen_chart_creates_the_template_chart(db):
    from medoffice.ledger.chart import CHART
    from medoffice.ledger.models import Account

    frozen = importlib.import_module("medoffice.ledger.migrations._chart_0002").CHART
    assert [row["key"] for row in frozen] == [template.key for template in CHART]
    assert set(Account.objects.values_list("key", flat=True)) >= {row["key"] for row in frozen}
