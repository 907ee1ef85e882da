"""`medoffice claims scrub [--all]`: scrub the claims not yet batched and print what it found."""

from __future__ import annotations

from medoffice.core import maintenance
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = (
        "Scrub the draft claims, those the scrubber held and rejected ones (with --all the "
        "ready ones too) and print each claim's findings; needs --as USERNAME (it records the "
        "findings and moves the claims)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="ready claims too")

    def run(self, *, all=False, **options):
        from medoffice.claims.permissions import ClaimsPerm
        from medoffice.claims.scrubber import scrub_claims
        from medoffice.claims.selectors_claims import claims_for_scrub
        from medoffice.core.access import require_perm
        from medoffice.core.capture import ActorRequired
        from medoffice.core.context import current_actor
        from medoffice.core.models import User

        maintenance.require_migrated()
        actor = current_actor()
        user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
        if user is None:
            raise ActorRequired("scrubbing claims")
        require_perm(user, ClaimsPerm.SUBMIT)
        results = scrub_claims(claims_for_scrub(include_ready=all), actor=user)
        held = 0
        for result in results:
            if result.status != "ready":
                held += 1
            self.stdout.write(
                f"{result.control_number}: {result.status}, {result.errors} error(s), "
                f"{result.warnings} warning(s)"
            )
            for finding in result.findings:
                line = f" line {finding.line_number}" if finding.line_number else ""
                self.stdout.write(f"  {finding.severity}{line} {finding.code}: {finding.message}")
        self.stdout.write(
            f"Scrubbed {len(results)} claim(s): {len(results) - held} ready, {held} held."
        )
