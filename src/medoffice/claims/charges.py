"""An encounter's charges on the books: the entry that finalizing posts, and its reversal.

    charges    Dr insurance A/R of the responsible coverage's payer (its own sub-account), or
               patient A/R on the patient's account when no coverage is in force (self-pay);
               Cr revenue, one line per service line, by the kind of service (office visits,
               procedures, laboratory, immunizations, other), each with the location and the
               rendering provider
    reversal   the charges' entry reversed (a correction: the encounter was reopened)

Each entry's source key is `claims.encounter:<id>:charges-<n>` (the n-th time the encounter's
charges post) and `...:reversal-<n>`: the ledger's unique source key makes each post at most
once, so two finalizations at the same moment write one entry. Nothing here commits: the
callers run these inside the transaction that changes the encounter's status.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from medoffice.claims.models import Encounter, ServiceLine
from medoffice.claims.selectors import practice_today, responsible_coverage
from medoffice.ledger import services as ledger
from medoffice.ledger.models import EntryKind, JournalEntry, to_dollars

if TYPE_CHECKING:
    from medoffice.core.models import User

ENCOUNTER_SOURCE = "claims.encounter"
CHARGES_EVENT = "charges"
REVERSAL_EVENT = "reversal"

# What corrects an encounter's entry, for the ledger's pages (its reversal page refuses it).
OWNING_ACTION = (
    "reopen the encounter to correct it: its charges are reversed, and posted again when it "
    "is finalized"
)


def revenue_key(code: str) -> str:
    """The revenue account a service line's charge goes to, by the kind of code (CPT ranges;
    HCPCS Level II and anything else is "other services")."""
    code = code.upper()
    if code.startswith("G") and code in {"G0008", "G0009", "G0010"}:
        return "revenue:immunizations"
    if code.endswith("U") and code[:4].isdigit():  # proprietary laboratory analyses
        return "revenue:laboratory"
    if not code.isdigit():
        return "revenue:other"  # HCPCS II (drugs, supplies), CPT categories II and III
    number = int(code)
    if 99202 <= number <= 99499:
        return "revenue:office_visits"
    if 90460 <= number <= 90759:
        return "revenue:immunizations"
    if 80047 <= number <= 89398 or number == 36415:
        return "revenue:laboratory"
    if 10004 <= number <= 79999 or 90785 <= number <= 99199 or 99500 <= number <= 99607:
        return "revenue:procedures"
    return "revenue:other"


def charge_entries(encounter: Encounter) -> QuerySet[JournalEntry]:
    """The encounter's entries (charges and reversals), oldest first."""
    return JournalEntry.objects.filter(
        source_type=ENCOUNTER_SOURCE, source_id=str(encounter.pk)
    ).order_by("id")


def _next_number(encounter: Encounter) -> int:
    return charge_entries(encounter).filter(kind=EntryKind.EVENT).count() + 1


def _posting_day(encounter: Encounter) -> date:
    """The date of service; today when the date of service's month is closed."""
    if ledger.closed_period_for(encounter.date_of_service) is None:
        return encounter.date_of_service
    return practice_today()


def charge_posting(encounter: Encounter, lines: list[ServiceLine]) -> ledger.Posting | None:
    """The entry of the encounter's charges, or None when they add up to nothing."""
    priced = [line for line in lines if line.charge_cents > 0]
    total = sum(line.charge_cents for line in priced)
    if total <= 0:
        return None
    location = encounter.location
    provider = encounter.rendering_provider
    coverage = responsible_coverage(encounter)
    memo = f"Encounter {encounter.pk} of {encounter.date_of_service:%m/%d/%Y}"
    if coverage is not None:
        receivable = ledger.Line(
            ledger.payer_account(coverage.payer),
            debit=to_dollars(total),
            location=location,
            provider=provider,
            memo=f"{memo}: {coverage.payer.name}"[:120],
        )
    else:
        receivable = ledger.Line(
            "patient_ar",
            debit=to_dollars(total),
            location=location,
            provider=provider,
            patient=encounter.patient,
            memo=f"{memo}: self-pay",
        )
    revenue = [
        ledger.Line(
            revenue_key(line.code),
            credit=to_dollars(line.charge_cents),
            location=location,
            provider=provider,
            memo=f"Line {line.line_number} {line.code} x{line.units}",
        )
        for line in priced
    ]
    return ledger.Posting(
        source_type=ENCOUNTER_SOURCE,
        source_id=encounter.pk,
        event=f"{CHARGES_EVENT}-{_next_number(encounter)}",
        date=_posting_day(encounter),
        memo=memo,
        location=location,
        lines=[receivable, *revenue],
    )


def post_charges(encounter: Encounter, *, actor: User) -> JournalEntry | None:
    """Post the encounter's charges (in the caller's transaction); None when there are none."""
    posting = charge_posting(encounter, list(encounter.lines.order_by("line_number")))
    if posting is None:
        return None
    return ledger.post(posting, actor=actor)


def reverse_charges(encounter: Encounter, *, actor: User, reason: str) -> JournalEntry | None:
    """Reverse the encounter's posted charges (dated today), or None when none are posted."""
    entry = encounter.charge_entry
    if entry is None:
        return None
    number = entry.source_key.rpartition("-")[2]
    return ledger.reverse(
        entry,
        actor=actor,
        on=max(practice_today(), entry.date),
        event=f"{REVERSAL_EVENT}-{number}",
        memo=f"Correction of encounter {encounter.pk}: {reason}"[:200],
    )
