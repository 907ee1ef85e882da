from __future__ import annotations

from medoffice.core import keyring, keys, maintenance
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Put a new encryption key first, wait until every running process has it, and "
        "re-encrypt every encrypted field under it (docs/adr/0011)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--drop-old", action="store_true", help="then remove the old keys from the key file"
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="finish an interrupted rotation without adding another key",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=None,
            metavar="SECONDS",
            help="how long to wait for running processes to load the new key "
            "(default: the live window plus one check interval)",
        )
        parser.add_argument(
            "--status", action="store_true", help="only show the key epoch and running processes"
        )
        parser.add_argument(
            "--generate",
            action="store_true",
            help="only print a new key (for MEDOFFICE_FIELD_KEYS)",
        )

    def run(self, *, drop_old, resume, wait, status, generate, **options):
        if generate:
            self.stdout.write(keys.generate_key())
            return
        maintenance.require_migrated()
        if status:
            self._status()
            return
        summary = keys.rotate_field_keys(drop_old=drop_old, resume=resume, wait_seconds=wait)
        waited = (
            f" (waited for {len(summary.waited_for)} running process(es) to load it)"
            if summary.waited_for
            else ""
        )
        if summary.audit_key_added:
            self.stdout.write(
                f"Added audit key {summary.audit_key_added}; the older audit keys stay to verify "
                "the events they signed."
            )
        elif keys.audit_keys_from_environment() and not resume:
            self.stdout.write(
                "The audit keys come from MEDOFFICE_AUDIT_KEYS: put a new line "
                "(`medoffice audit new-key`) first in it, keeping the old ones."
            )
        if summary.from_environment:
            self.stdout.write(
                f"Re-encrypted {summary.values} values under the first key of MEDOFFICE_FIELD_KEYS"
                f"{waited}. To rotate: put a new key (`medoffice rotate-keys --generate`) first in "
                "MEDOFFICE_FIELD_KEYS of every process, keep the old ones after it, restart them, "
                "run this again, then remove the old keys from the variable."
            )
            return
        added = "Added a new key and re-encrypted" if summary.new_key_added else "Re-encrypted"
        self.stdout.write(
            f"{added} {summary.values} values under it{waited}; "
            f"{summary.keys_in_use} key(s) in the key file; key epoch {summary.epoch}."
        )
        if summary.old_keys_dropped:
            self.stdout.write("Old keys dropped: every stored value decrypts with the new key.")
        elif summary.keys_in_use > 1:
            self.stdout.write(
                "Old keys kept; `medoffice rotate-keys --resume --drop-old` removes them."
            )

    def _status(self) -> None:
        self.stdout.write(
            f"Key epoch {keys.current_epoch()}; this process holds keys {keyring.key_ids()}."
        )
        rows = keys.holders()
        if not rows:
            self.stdout.write("No process has recorded the keys it holds.")
        for holder in rows:
            state = "running" if holder.live else "gone (no check within the live window)"
            self.stdout.write(
                f"{holder.process}: epoch {holder.epoch}, keys {','.join(holder.key_ids)}, "
                f"last check {holder.seen_at:%Y-%m-%d %H:%M:%S %Z}, {state}"
            )
