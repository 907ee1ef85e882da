"""An encounter's charges on the books: the entry that finalizing posts, its moves to the payer
a claim is built for, and their reversal.

    charges    Dr insurance A/R of the responsible coverage's payer (its own sub-account), or
               patient A/R on the patient's account when no coverage is in force (self-pay);
               Cr revenue, one line per service line, by the kind of service (office visits,
               procedures, laboratory, immunizations, other), each with the location and the
               rendering provider
    move       the receivable follows the claim: when a claim is built for a payer other than
               the one the visit's open charges are receivable from (the coverage was corrected,
               or a self-pay visit turned out insured), Cr what the other accounts hold for the
               visit (a payer's A/R, or patient A/R on the patient's account), Dr the claim's
               payer's A/R, with the same location, provider and patient
    reversal   the charges' entry reversed (a correction: the encounter was reopened), after
               the moves made since, newest first, so every account is back where it was

Each entry's source key is `claims.encounter:<id>:charges-<n>` (the n-th time the encounter's
charges post), `...:receivable-<m>` (the m-th move of its receivable), `...:reversal-<n>` and
`...:receivable-<m>-reversal`: the ledger's unique source key makes each post at most once, so
two finalizations (or two claim builds) at the same moment write one entry. Where a visit's
receivable is read from its own entries' lines, never from the coverage as it is now. Nothing
here commits: the callers run these inside the transaction that changes the encounter or builds
its claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet, Sum

from medoffice.claims.models import Encounter, ServiceLine
from medoffice.claims.selectors import practice_today, responsible_coverage
from medoffice.core import audit
from medoffice.core.models import AuditAction, Location, Provider
from medoffice.ledger import services as ledger
from medoffice.ledger.models import Account, EntryKind, JournalEntry, JournalLine, to_dollars
from medoffice.ledger.selectors import PAYER_AR_PREFIX, payer_of_key
from medoffice.patients.models import Patient, Payer

if TYPE_CHECKING:
    from medoffice.claims.models import Claim
    from medoffice.core.models import User

ENCOUNTER_SOURCE = "claims.encounter"
CHARGES_EVENT = "charges"
REVERSAL_EVENT = "reversal"
MOVE_EVENT = "receivable"
PATIENT_AR = "patient_ar"
SELF_PAY = "the patient (self-pay)"

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


def _key_prefix(encounter: Encounter, event: str) -> str:
    return f"{ENCOUNTER_SOURCE}:{encounter.pk}:{event}-"


def _next_number(encounter: Encounter, event: str = CHARGES_EVENT) -> int:
    """The number of the encounter's next `event` entry (charges or a move of its receivable)."""
    prefix = _key_prefix(encounter, event)
    return (
        charge_entries(encounter)
        .filter(kind=EntryKind.EVENT, source_key__startswith=prefix)
        .count()
        + 1
    )


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
    """Reverse the encounter's posted charges (dated today), or None when none are posted. The
    moves of its receivable since they posted are reversed first, newest first: the charges'
    reversal then credits the account they were debited to, and every account the visit's
    receivable passed through is back to zero for it."""
    entry = encounter.charge_entry
    if entry is None:
        return None
    for move in open_moves(encounter):
        ledger.reverse(
            move,
            actor=actor,
            on=max(practice_today(), move.date),
            event=f"{move.source_key.rpartition(':')[2]}-{REVERSAL_EVENT}",
            memo=f"Correction of encounter {encounter.pk}: {reason}; {move.memo}"[:200],
        )
    number = entry.source_key.rpartition("-")[2]
    return ledger.reverse(
        entry,
        actor=actor,
        on=max(practice_today(), entry.date),
        event=f"{REVERSAL_EVENT}-{number}",
        memo=f"Correction of encounter {encounter.pk}: {reason}"[:200],
    )


# --- The receivable follows the claim ----------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """Part of a visit's open charges, receivable on one account (a payer's insurance A/R, or
    patient A/R on a patient's account), with the dimensions its lines carry."""

    account_id: int
    payer_id: int | None  # None: patient A/R
    patient_id: int | None
    location_id: int | None
    provider_id: int | None
    cents: int


def receivables(encounter: Encounter) -> list[Held]:
    """Where the visit's open charges are receivable now: the net of its own entries (charges,
    moves and their reversals) on the payers' A/R and patient A/R, by account and dimension;
    nothing once it is reversed. One query."""
    rows = (
        JournalLine.objects.filter(
            entry__source_type=ENCOUNTER_SOURCE, entry__source_id=str(encounter.pk)
        )
        .filter(Q(account__key__startswith=PAYER_AR_PREFIX) | Q(account__key=PATIENT_AR))
        .order_by()
        .values_list("account_id", "account__key", "patient_id", "location_id", "provider_id")
        .annotate(net=Sum("amount_cents"))
        .order_by("account_id", "location_id", "provider_id", "patient_id")
    )
    return [
        Held(account_id, payer_of_key(key), patient_id, location_id, provider_id, int(net))
        for account_id, key, patient_id, location_id, provider_id, net in rows
        if net
    ]


def holder_names(held: list[Held]) -> dict[int | None, str]:
    """Who each holder is, in words: the payer's name, or the patient (self-pay). One query."""
    ids = {h.payer_id for h in held if h.payer_id is not None}
    names: dict[int | None, str] = dict(
        Payer.objects.filter(pk__in=ids).values_list("pk", "name") if ids else []
    )
    names[None] = SELF_PAY
    return names


def receivable_now(encounter: Encounter) -> list[tuple[str, Decimal]]:
    """Who the visit's open charges are receivable from now, and how much (its page's words).
    Two queries."""
    held = receivables(encounter)
    names = holder_names(held)
    totals: dict[str, int] = {}
    for h in held:
        name = names.get(h.payer_id, "?")
        totals[name] = totals.get(name, 0) + h.cents
    return [(name, to_dollars(cents)) for name, cents in totals.items() if cents]


def _line_objects(encounter: Encounter, held: list[Held]) -> dict[type, dict]:
    """The accounts, locations, providers and patients the held lines name, by id (the
    encounter's own from it: those of its charges)."""
    found: dict[type, dict] = {
        Account: Account.objects.in_bulk({h.account_id for h in held}),
        Location: {encounter.location_id: encounter.location},
        Provider: {encounter.rendering_provider_id: encounter.rendering_provider},
        Patient: {encounter.patient_id: encounter.patient},
    }
    for model, ids in (
        (Location, {h.location_id for h in held}),
        (Provider, {h.provider_id for h in held}),
        (Patient, {h.patient_id for h in held}),
    ):
        missing = {pk for pk in ids if pk is not None and pk not in found[model]}
        if missing:
            found[model].update(model.objects.in_bulk(missing))
    return found


def open_moves(encounter: Encounter) -> list[JournalEntry]:
    """The moves of the visit's receivable not reversed yet, newest first."""
    return list(
        charge_entries(encounter)
        .filter(
            kind=EntryKind.EVENT,
            source_key__startswith=_key_prefix(encounter, MOVE_EVENT),
            reversed_by__isnull=True,
        )
        .order_by("-id")
    )


@dataclass(frozen=True)
class Move:
    """A move of a visit's receivable: its entry, how much, from whom and to whom."""

    entry: JournalEntry
    cents: int
    from_names: tuple[str, ...]
    to_name: str

    @property
    def words(self) -> str:
        return (
            f"Receivable moved from {' and '.join(self.from_names)} to {self.to_name}: "
            f"{ledger.money_text(self.cents)}."  # no entry id: the same demo seed, the same words
        )


def move_receivable(encounter: Encounter, claim: Claim, *, actor: User | None) -> Move | None:
    """The visit's open charges follow its claim: one balanced entry moving what other accounts
    hold for the visit (another payer's A/R, or the patient's for a visit posted as self-pay) to
    the claim's payer's A/R, dated today, with an audit event naming the actor; None when the
    receivable is there already (or nothing is open).

    The caller holds the encounter's row lock, so a reopening or another build waits and then
    reads the moved receivable. Without it, builds at the same moment read the same holder,
    number the move alike and write the same lines: the ledger's unique source key posts one.
    """
    target = ledger.payer_account(claim.payer)
    held = [h for h in receivables(encounter) if h.account_id != target.pk]
    if not held:
        return None
    names = holder_names(held)
    from_names = tuple(dict.fromkeys(names.get(h.payer_id, "?") for h in held))
    to_name = claim.payer.name
    memo = f"Claim {claim.control_number}: receivable moved from {' and '.join(from_names)}"
    memo = f"{memo} to {to_name}"
    lines: list[ledger.Line] = []
    objects = _line_objects(encounter, held)
    for h in held:
        # What the holder has is credited to it and debited to the claim's payer (the other
        # way round for a credit balance), with the dimensions it was held with.
        amount = to_dollars(abs(h.cents))
        taken, given = (amount, 0) if h.cents > 0 else (0, amount)
        location = objects[Location].get(h.location_id)
        provider = objects[Provider].get(h.provider_id)
        lines.append(
            ledger.Line(
                objects[Account][h.account_id], debit=given, credit=taken,
                location=location, provider=provider, patient=objects[Patient].get(h.patient_id),
                memo=f"Claim {claim.control_number}: to {to_name}"[:120],
            )
        )  # fmt: skip
        lines.append(
            ledger.Line(
                target, debit=taken, credit=given, location=location, provider=provider,
                memo=f"Claim {claim.control_number}: from {names.get(h.payer_id, '?')}"[:120],
            )
        )  # fmt: skip
    day = max([practice_today(), *charge_entries(encounter).values_list("date", flat=True)])
    entry = ledger.post(
        ledger.Posting(
            source_type=ENCOUNTER_SOURCE,
            source_id=encounter.pk,
            event=f"{MOVE_EVENT}-{_next_number(encounter, MOVE_EVENT)}",
            date=day,
            memo=memo[:200],
            location=encounter.location,
            lines=lines,
        ),
        actor=actor,
    )
    cents = sum(h.cents for h in held)
    audit.record(
        AuditAction.UPDATE,
        obj=encounter,
        changes={"receivable": [list(from_names), to_name], "receivable_entry": [None, entry.pk]},
        reason=f"claim {claim.control_number} built for {to_name}"[:300],
    )
    return Move(entry, cents, from_names, to_name)
