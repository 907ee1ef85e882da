from __future__ import annotations

from django.core.management.base import CommandError

from medoffice.core.backup import restore_backup
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Restore a backup zip into this installation (refuses to overwrite data without --force)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that already holds data"
        )

    def run(self, *, file, force, **options):
        summary = restore_backup(file, force=force)
        self.stdout.write(
            f"Restored {summary.rows} rows and {summary.files} files from {summary.path}; "
            f"audit trail up to #{summary.audit_last_seq}."
        )
        for problem in summary.problems:
            self.stderr.write(problem)
        if summary.problems:
            raise CommandError(
                f"restored, but the audit trail has {len(summary.problems)} problem(s) (listed above)"
            )
        self.stdout.write("The audit trail verifies.")
