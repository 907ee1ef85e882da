"""`flush`, with the audit trail's guard triggers (and the apps' registered guards) lifted while every table is emptied.

Emptying the whole database (a test run, a demo reset) is the one act allowed to remove
audit records; the triggers are put back at once, even if the flush fails.
"""

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from medoffice.core import db_guards


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        guarded = db_guards.TABLE in connection.introspection.table_names()
        if guarded:
            db_guards.remove(connection)
        try:
            with db_guards.app_guards_lifted(connection):
                return super().handle(**options)
        finally:
            if guarded:
                db_guards.install(connection)
