from __future__ import annotations

from django.core.management.base import CommandError

from medoffice.core import maintenance
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = "Audit trail tools: `audit verify` checks the hash chain and names every problem."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def run(self, *, action, **options):
        from medoffice.core.audit import verify_chain
        from medoffice.core.models import AuditChainHead

        maintenance.require_migrated()
        problems = 0
        for problem in verify_chain():
            problems += 1
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"the audit trail has {problems} problem(s)")
        head = AuditChainHead.objects.filter(pk=1).first()
        self.stdout.write(
            f"The audit trail is intact: {head.last_seq if head else 0} records, hash chain verified."
        )
