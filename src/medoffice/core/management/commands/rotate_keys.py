from __future__ import annotations

from medoffice.core import keys, maintenance
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = "Put a new encryption key first and re-encrypt every encrypted field under it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--drop-old", action="store_true", help="then remove the old keys from the key file"
        )
        parser.add_argument(
            "--generate",
            action="store_true",
            help="only print a new key (for MEDOFFICE_FIELD_KEYS)",
        )

    def run(self, *, drop_old, generate, **options):
        if generate:
            self.stdout.write(keys.generate_key())
            return
        maintenance.require_migrated()
        summary = keys.rotate_field_keys(drop_old=drop_old)
        if summary.from_environment:
            self.stdout.write(
                f"Re-encrypted {summary.values} values under the first key of MEDOFFICE_FIELD_KEYS. "
                "To rotate: put a new key (`medoffice rotate-keys --generate`) first in "
                "MEDOFFICE_FIELD_KEYS, keep the old ones after it, run this again, then remove "
                "the old keys from the variable."
            )
            return
        self.stdout.write(
            f"Added a new key and re-encrypted {summary.values} values under it; "
            f"{summary.keys_in_use} key(s) in the key file."
        )
        if not summary.old_keys_dropped and summary.keys_in_use > 1:
            self.stdout.write("Old keys kept; `medoffice rotate-keys --drop-old` removes them.")
