from __future__ import annotations

from medoffice.core.backup import create_backup
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = "Write a backup zip: a consistent copy of the database and the stored files."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")

    def run(self, *, file, force, **options):
        summary = create_backup(file, overwrite=force)
        self.stdout.write(
            f"Wrote {summary.path}: {summary.rows} rows, {summary.files} files, "
            f"{summary.bytes / 1_048_576:.1f} MiB; audit trail up to #{summary.audit_last_seq}."
        )
        self.stdout.write(
            "Encrypted fields are stored encrypted: keep the field keys (the data folder's "
            "field_keys file or MEDOFFICE_FIELD_KEYS) safe and apart from the backup."
        )
