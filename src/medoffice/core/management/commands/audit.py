from __future__ import annotations

from django.core.management.base import CommandError

from medoffice.core import maintenance
from medoffice.core.management.commands._ops import OpsCommand

ACTIONS = ["verify", "seal", "checkpoint", "new-key"]


class Command(OpsCommand):
    help = (
        "Audit trail tools: `verify` seals, then checks the chain and names every problem "
        "(`--checkpoint LINE`: and that nothing up to that checkpoint changed); `seal` chains "
        "new events; `checkpoint` prints a signed line to keep elsewhere; `new-key` prints a "
        "new audit key line for MEDOFFICE_AUDIT_KEYS."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument(
            "--checkpoint", default="", help="a line printed earlier by `audit checkpoint`"
        )

    def run(self, *, action, checkpoint="", **options):
        from medoffice.core import audit, keys

        if action == "new-key":
            self.stdout.write(keys.generate_audit_key())
            return
        if checkpoint and action != "verify":
            raise CommandError("--checkpoint goes with `audit verify`")
        maintenance.require_migrated()
        if action == "checkpoint":
            self.stdout.write(audit.checkpoint())
            return
        point = audit.parse_checkpoint(checkpoint) if checkpoint else None
        sealed = audit.seal()
        if action == "seal":
            self.stdout.write(f"Sealed {sealed} audit record(s) into the chain.")
            return
        problems = 0
        for problem in audit.verify_chain(checkpoint=point):
            problems += 1
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"the audit trail has {problems} problem(s)")
        from medoffice.core.models import AuditChainHead

        head = AuditChainHead.objects.filter(pk=1).first()
        since = f"; unchanged up to checkpoint #{point.seq}" if point is not None else ""
        self.stdout.write(
            f"The audit trail is intact: {head.last_seq if head else 0} records, "
            f"hash chain verified{since}."
        )
