"""Reversing a posted entry by hand: the correction of an accountant's own entry.

Only manual entries are reversed here. An entry another app posted for a money event (a desk
payment, a refund, a drawer's close) belongs to that event: reversing it alone would leave the
event saying one thing and the books another, so it is refused with the action that corrects
it (void the payment, refund it, ...). A reversal is dated in an open month (today unless
given), at most once per entry (the database's unique keys decide in a race), with the reason
on the audit trail.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotFound
from medoffice.core.formats import us_date
from medoffice.core.models import AuditAction
from medoffice.core.role_permissions import require_perm
from medoffice.ledger.models import EntryKind, JournalEntry
from medoffice.ledger.permissions import LedgerPerm
from medoffice.ledger.services.manual import MANUAL_SOURCE
from medoffice.ledger.services.periods import entry_date_range
from medoffice.ledger.services.posting import closed_period_for, reverse

if TYPE_CHECKING:
    from medoffice.core.models import User

# What corrects an entry another app owns, by its source (apps name theirs here; the ledger
# imports none of them).
OWNING_ACTION: dict[str, str] = {
    "reception.payment": "void the payment (the same day, before the deposit) or refund it "
    "from the patient's account",
    "reception.refund": "cancel or correct the refund on the patient's account",
    "reception.drawerclose": "correct the day's close of the drawer",
    "reception.deposit": "correct the deposit",
    "patients.merge": "it moved a merged patient's balance; it is not reversed",
    "ledger.year_end": "reopen the year's last month and close the year again",
}


def owning_action(entry: JournalEntry) -> str:
    return OWNING_ACTION.get(entry.source_type, "correct it where it was recorded")


@transaction.atomic
@binds_actor("actor")
def entry_reverse(
    *, entry_id: int, actor: User, reason: str, on: date | None = None
) -> JournalEntry:
    """Reverse a posted manual entry: the same lines, sides swapped, dated `on` (today by
    default) in an open month, linked to the original. Refused for an entry already reversed
    (naming its reversal), for a reversal, and for an entry another app owns."""
    require_perm(actor, LedgerPerm.REVERSE_ENTRIES)
    if not reason.strip():
        raise InvalidInput("reason: say why the entry is reversed.", field="reason")
    entry = JournalEntry.objects.select_for_update().filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"No journal entry {entry_id}.")
    if entry.kind == EntryKind.REVERSAL:
        raise InvalidTransition(
            f"Entry {entry.pk} is itself the reversal of entry {entry.reverses_id}; "
            "post the original again as a new manual entry instead."
        )
    earlier = JournalEntry.objects.filter(reverses=entry).first()
    if earlier is not None:
        raise InvalidTransition(
            f"Entry {entry.pk} is already reversed, by entry {earlier.pk} of "
            f"{us_date(earlier.date)}."
        )
    if entry.source_type != MANUAL_SOURCE:
        raise InvalidTransition(
            f"Entry {entry.pk} belongs to {entry.source_type} {entry.source_id}: "
            f"{owning_action(entry)}."
        )
    day = on or timezone.localdate()
    first, last = entry_date_range()
    if not first <= day <= last:
        raise InvalidInput(
            f"date: {us_date(day)} is outside the books; date the reversal between "
            f"{us_date(first)} and {us_date(last)}.",
            field="date",
        )
    if day < entry.date:
        raise InvalidInput(
            f"date: a reversal is not dated before its entry ({us_date(entry.date)}).",
            field="date",
        )
    closed = closed_period_for(day)
    if closed is not None:
        raise InvalidInput(
            f"date: {closed.label} is closed; date the reversal in an open month.", field="date"
        )
    why = reason.strip()[:150]
    reversal = reverse(entry, actor=actor, on=day, memo=f"Reverses entry {entry.pk}: {why}"[:200])
    audit.record(
        AuditAction.UPDATE,
        obj=entry,
        changes={"reversed_by": [None, reversal.pk], "date": day.isoformat()},
        reason=why,
    )
    return reversal
