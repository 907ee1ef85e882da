"""Interchange and group control numbers: unique per submitter, handed out once, never reused.

ISA13 and GS06 identify a file to the clearinghouse and come back in its 999 and TA1, so a
number is reserved before the file is written and is not given back if writing fails (a gap
is harmless; a repeat would mismatch acknowledgements).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from medoffice.claims.models import ControlCounter
from medoffice.core.exceptions import Conflict, InvalidInput

LIMITS = {"ISA": 999_999_999, "GS": 999_999_999}


@transaction.atomic
def reserve_control_numbers(submitter_id: str, kind: str, count: int = 1) -> range:
    """The next `count` numbers of a kind for a submitter. The row is updated before it is
    read, so the row lock (PostgreSQL) or the write transaction (SQLite) queues callers."""
    if kind not in LIMITS:
        raise InvalidInput(f"Control numbers are kept for {', '.join(LIMITS)}, not {kind!r}.")
    if count < 1:
        raise InvalidInput("Reserve at least one control number.", field="count")
    if not submitter_id.strip():
        raise InvalidInput("The submitter id must not be empty.", field="submitter_id")
    rows = ControlCounter.objects.filter(submitter_id=submitter_id, kind=kind)
    if not rows.update(last_value=F("last_value") + count):
        try:
            with transaction.atomic():
                ControlCounter.objects.create(submitter_id=submitter_id, kind=kind)
        except IntegrityError:
            pass  # another caller created it first
        rows.update(last_value=F("last_value") + count)
    last = rows.values_list("last_value", flat=True).get()
    if last > LIMITS[kind]:
        raise Conflict(
            f"The {kind} control numbers of submitter {submitter_id} are used up "
            f"(the last is {LIMITS[kind]}); a new submitter id is needed."
        )
    return range(last - count + 1, last + 1)
