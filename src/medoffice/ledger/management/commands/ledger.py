"""`medoffice ledger trial-balance | close-period YYYY-MM | verify`."""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import CommandError

from medoffice.core import maintenance
from medoffice.core.exceptions import InvalidInput
from medoffice.core.management.commands._ops import OpsCommand

ACTIONS = ("trial-balance", "close-period", "verify")


class Command(OpsCommand):
    help = (
        "The books: `trial-balance [--as-of DATE] [--csv]` prints every account's balance; "
        "`close-period YYYY-MM` closes a month (with --as USERNAME); `verify` checks that every "
        "entry balances, every line belongs to its entry and carries its date, the database's "
        "guards are installed and nothing in a closed period changed since it closed."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("period", nargs="?", default="", help="close-period: YYYY-MM")
        parser.add_argument("--as-of", dest="as_of", default="", help="trial-balance: YYYY-MM-DD")
        parser.add_argument("--csv", action="store_true", help="trial-balance: as CSV")

    def run(self, *, action, period="", as_of="", csv=False, **options):
        maintenance.require_migrated()
        if action == "trial-balance":
            self._trial_balance(as_of, csv)
        elif action == "close-period":
            self._close(period)
        else:
            self._verify()

    def _trial_balance(self, as_of: str, as_csv: bool) -> None:
        from django.utils import timezone

        from medoffice.core.formats import money
        from medoffice.ledger import exports, selectors

        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError:
            raise InvalidInput(f"--as-of: {as_of!r} is not a date such as 2026-11-30.",
                               field="as_of") from None  # fmt: skip
        balance = selectors.trial_balance(day)
        if as_csv:
            for line in exports.trial_balance_csv(balance):
                self.stdout.write(line, ending="")
            return
        self.stdout.write(f"Trial balance as of {day.isoformat()}")
        for row in balance.rows:
            debit = money(row.debit) if row.debit_cents else ""
            credit = money(row.credit) if row.credit_cents else ""
            self.stdout.write(
                f"{row.account.code:<10} {row.account.name[:40]:<40} {debit:>15} {credit:>15}"
            )
        self.stdout.write(
            f"{'':<10} {'Total':<40} {money(balance.total_debit):>15} {money(balance.total_credit):>15}"
        )
        if not balance.balanced:
            raise CommandError("the trial balance does not balance")

    def _close(self, period: str) -> None:
        from medoffice.core.capture import ActorRequired
        from medoffice.core.context import current_actor
        from medoffice.core.models import User
        from medoffice.ledger import services

        if not period:
            raise InvalidInput("close-period: give the month, such as 2026-11.", field="period")
        month = services.parse_month(period)
        actor = current_actor()
        user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
        if user is None:
            raise ActorRequired("closing a period")
        closed = services.close_period(month=month, actor=user)
        self.stdout.write(
            f"Closed {closed.label}: {closed.closed_line_count} lines, debits "
            f"{money_text(closed.closed_debit_cents or 0)}."
        )

    def _verify(self) -> None:
        from medoffice.ledger import verify

        found = 0
        for problem in verify.problems():
            found += 1
            self.stdout.write(str(problem))
        if found:
            raise CommandError(f"the books have {found} problem(s)")
        self.stdout.write(f"The books are intact: {verify.summary()}.")
        sys.stdout.flush()


def money_text(cents: int) -> str:
    from medoffice.core.formats import money
    from medoffice.ledger.models import to_dollars

    return money(to_dollars(cents))
