"""Merging two patient records: the duplicate's patient-account balances move to the survivor
by a transfer entry, since the lines already posted are history and never change."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.utils import timezone

from medoffice.core.models import Location
from medoffice.ledger.models import Account, JournalLine, to_dollars
from medoffice.ledger.selectors import PATIENT_ACCOUNT_KEYS
from medoffice.ledger.services import Line, Posting, post


def transfer_patient_account(*, survivor: Any, duplicate: Any, actor: Any) -> list[int]:
    """Post the duplicate's net on each patient account, per location, to the survivor."""
    nets = (
        JournalLine.objects.filter(patient=duplicate, account__key__in=PATIENT_ACCOUNT_KEYS)
        .order_by()
        .values_list("account", "location")
        .annotate(net=Sum("amount_cents"))
    )
    lines: list[Line] = []
    for account_id, location_id, net in nets:
        if not net:
            continue
        amount = to_dollars(abs(net))
        account = Account.objects.get(pk=account_id)
        location = Location.objects.get(pk=location_id) if location_id is not None else None
        # Take the duplicate's balance off (the opposite side) and put it on the survivor.
        if net > 0:
            lines.append(Line(account, credit=amount, patient=duplicate, location=location))
            lines.append(Line(account, debit=amount, patient=survivor, location=location))
        else:
            lines.append(Line(account, debit=amount, patient=duplicate, location=location))
            lines.append(Line(account, credit=amount, patient=survivor, location=location))
    if not lines:
        return []
    entry = post(
        Posting(
            source_type="patients.merge",
            source_id=f"{duplicate.pk}-{survivor.pk}",
            date=timezone.localdate(),
            lines=lines,
            memo=f"Account of MRN {duplicate.mrn} moved to MRN {survivor.mrn} (records merged)",
        ),
        actor=actor,
    )
    return [entry.pk]
