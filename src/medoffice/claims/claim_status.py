"""Claim status (276/277) for claims without an answer after N days.

`claims_needing_status(days=N)` lists the claims sent at least N days ago that the payer has
neither paid nor denied and about which no 277 came in the last N days; `claim_status_request`
writes the 276 asking about them (the trace number is our patient control number, which the
277 echoes with REF*EJ); `apply_277` maps the answers back to the claims and lines:

- rejected (A3, A4, A6, A7, A8): the claim returns to the worklist as rejected;
- received, accepted or pending (A0-A2, A5, P0-P5): a submitted claim becomes accepted, with
  the payer's claim number;
- denied (F2): the claim is denied;
- anything else (paid F1, finalized F0/F3/F4, or E: the request itself could not be
  answered) is recorded on the claim's history without a change (the remittance moves paid
  claims).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from medoffice.claims.acknowledgements import (
    ApplyResult,
    Outcome,
    Submissions,
    answer_fits,
    apply_file,
    apply_lines,
    payer_number_read,
    status_details,
    status_words,
)
from medoffice.claims.batches import (
    RELATIONSHIP_CODES,
    Exchange,
    clearinghouse_exchange,
    practice_exchange,
    x12_text,
)
from medoffice.claims.claims_services import correction_accepted, move_claims_from, note_claims
from medoffice.claims.control_numbers import reserve_control_numbers
from medoffice.claims.mailbox_selectors import submission_with_key
from medoffice.claims.mailbox_services import submit_file
from medoffice.claims.models import Claim, ClaimEvent, ClaimStatus
from medoffice.claims.models.mailbox import Clearinghouse, MailboxSubmission, SubmissionStatus
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import Practice, User
from medoffice.core.role_permissions import require_perm
from medoffice.x12 import Interchange, Transaction, X12Error, read
from medoffice.x12.transactions import claim_status_writer as w
from medoffice.x12.transactions.claim_status import ClaimStatusTransaction, TrackedClaim

WAITING = (ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED)
MAX_CLAIMS_PER_REQUEST = 1000


def claims_needing_status(days: int = 30, *, now: dt.datetime | None = None) -> QuerySet[Claim]:
    """Claims sent at least `days` days ago, still without the payer's decision, and neither
    asked about (276) nor answered (277) in the last `days` days."""
    if days < 1:
        raise InvalidInput("Ask about claims at least one day old.", field="days")
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    # Asked (a 276) or answered (a 277) within the period: not asked again yet.
    recent_answer = ClaimEvent.objects.filter(
        claim=OuterRef("pk"), at__gte=cutoff, details__kind__in=("276", "277")
    )
    return (
        Claim.objects.filter(status__in=WAITING)
        .annotate(sent_at=Coalesce("submitted_at", "batch__created_at"))
        .filter(Q(sent_at__lte=cutoff))
        .exclude(Exists(recent_answer))
        .select_related("payer", "coverage", "encounter__patient")
        .order_by("payer_id", "pk")
    )


def _dollars(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _inquiry(claim: Claim) -> w.ClaimInquiry:
    coverage, patient = claim.coverage, claim.encounter.patient
    relationship = RELATIONSHIP_CODES.get(coverage.subscriber_relationship, "G8")
    person = w.Person(
        last_name=x12_text(patient.last_name),
        first_name=x12_text(patient.first_name),
        middle_name=x12_text(patient.middle_name),
        birth_date=patient.date_of_birth,
        gender=patient.sex if patient.sex in ("M", "F") else "",
    )
    if relationship == "18":
        subscriber, dependent = (
            w.Person(**{**person.__dict__, "member_id": coverage.member_id}),
            None,
        )
    else:
        subscriber = w.Person(
            last_name=x12_text(coverage.subscriber_last_name),
            first_name=x12_text(coverage.subscriber_first_name),
            member_id=coverage.member_id,
        )
        dependent = person
    lines = [
        w.LineInquiry(
            code=line.code,
            charge=_dollars(line.charge_cents),
            units=Decimal(line.units),
            service_date=claim.encounter.date_of_service,
            modifiers=list(line.modifiers),
            control_number=str(line.pk),
        )
        for line in claim.lines.all()
    ]
    return w.ClaimInquiry(
        trace_number=claim.control_number,
        patient_control_number=claim.control_number,
        charge=_dollars(claim.total_charge_cents),
        service_from=claim.encounter.date_of_service,
        subscriber=subscriber,
        payer=w.Payer(name=x12_text(claim.payer.name), payer_id=claim.payer.payer_id),
        payer_claim_number=claim.payer_claim_number,
        patient=dependent,
        lines=lines,
    )


@binds_actor()
def claim_status_request(
    claims: Sequence[Claim] | QuerySet[Claim],
    *,
    actor: User | None = None,
    exchange: Exchange | None = None,
) -> bytes:
    """A 276 asking about the claims, with new control numbers for the submitter."""
    if actor is not None:
        require_perm(actor, ClaimsPerm.SUBMIT)
    ids = [claim.pk for claim in claims]
    if not ids:
        raise InvalidInput("No claim to ask about.")
    if len(ids) > MAX_CLAIMS_PER_REQUEST:
        raise InvalidInput(f"Ask about at most {MAX_CLAIMS_PER_REQUEST} claims at a time.")
    loaded = list(
        Claim.objects.filter(pk__in=ids)
        .select_related("payer", "coverage", "encounter__patient")
        .prefetch_related("lines")
        .order_by("payer_id", "pk")
    )
    exchange = exchange or practice_exchange()
    practice = Practice.objects.get()
    (interchange,) = reserve_control_numbers(exchange.submitter_id, "ISA")
    (group,) = reserve_control_numbers(exchange.submitter_id, "GS")
    request = w.StatusRequest(
        receiver=w.Party(name=exchange.submitter_name, identifier=exchange.submitter_id),
        provider=w.Party(name=x12_text(practice.legal_name), identifier=practice.group_npi),
        claims=[_inquiry(claim) for claim in loaded],
        reference=f"{interchange:09d}",
        created=timezone.localtime(),
        interchange_control_number=interchange,
        group_control_number=group,
        transaction_control_number=1,
        sender_id=exchange.submitter_id,
        receiver_id=exchange.receiver_id,
        sender_qualifier=exchange.sender_qualifier,
        receiver_qualifier=exchange.receiver_qualifier,
        usage=exchange.usage,
    )
    try:
        return w.write_request(request, uppercase=True)
    except X12Error as exc:
        raise InvalidInput(f"The claim status request could not be written: {exc}") from exc


@dataclass
class StatusInquiry:
    """A 276 sent (or the one sent before under the same key), and the claims it asked about."""

    submission: MailboxSubmission
    claim_count: int
    replayed: bool = False


def _replayed(earlier: MailboxSubmission) -> StatusInquiry:
    """The 276 sent before under the same key, with the claims it asked about."""
    asked = ClaimEvent.objects.filter(details__kind="276", details__file=earlier.name)
    return StatusInquiry(earlier, asked.count(), replayed=True)


@binds_actor()
def claim_status_send(
    *,
    actor: User | None,
    clearinghouse: Clearinghouse,
    days: int = 30,
    idempotency_key: str = "",
    now: dt.datetime | None = None,
) -> StatusInquiry:
    """Ask the payers, in one 276 through the clearinghouse, about the claims without an answer
    after `days` days (`claims_needing_status`); each claim's history says it was asked, so it
    is not asked again for `days` days. The same key again returns the first 276 and sends
    nothing; nothing to ask about is an InvalidInput, with nothing written."""
    if actor is not None:
        require_perm(actor, ClaimsPerm.SUBMIT)
    key = (idempotency_key or "").strip()
    if key:
        earlier = submission_with_key(clearinghouse, key)
        if earlier is not None:
            return _replayed(earlier)
    claims = list(claims_needing_status(days, now=now)[:MAX_CLAIMS_PER_REQUEST])
    if not claims:
        raise InvalidInput(
            f"No claim has waited {days} day(s) or more without an answer: nothing to ask.",
            field="days",
        )
    exchange = clearinghouse_exchange(clearinghouse)
    content = claim_status_request(claims, actor=actor, exchange=exchange)
    name = f"276-{exchange.submitter_id}-{read(content).interchanges[0].control_number}.x12"
    try:
        submission = submit_file(
            actor=actor, clearinghouse=clearinghouse, name=name, content=content,
            idempotency_key=key,
        )  # fmt: skip
    except (Conflict, InvalidInput):
        # Another request with the same key (a double click) sent its own 276 first: that one
        # is the answer.
        earlier = submission_with_key(clearinghouse, key) if key else None
        if earlier is None:
            raise
        return _replayed(earlier)
    if submission.status == SubmissionStatus.SENT:
        note_claims(
            claims, actor=actor,
            note=f"276 sent to {clearinghouse.name} as {name}: the payer is asked for its status",
            details={"kind": "276", "file": name},
        )  # fmt: skip
    return StatusInquiry(submission, len(claims))


# --- the 277 ---------------------------------------------------------------------------------


def _verdict(tracked: TrackedClaim) -> str:
    categories = [c.category for s in tracked.statuses for c in s.codes]
    first = categories[0] if categories else ""
    if any(c in ("A3", "A4", "A6", "A7", "A8") for c in categories):
        return ClaimStatus.REJECTED
    if first == "F2":
        return ClaimStatus.DENIED
    if first in ("A0", "A1", "A2", "A5") or first.startswith("P"):
        return ClaimStatus.ACCEPTED
    return ""


def _apply(document: ClaimStatusTransaction, actor: User | None, result: ApplyResult, name: str
           ) -> None:  # fmt: skip
    tracked_claims = document.claims()
    found = {
        c.control_number: c
        for c in Claim.objects.filter(
            control_number__in=[t.patient_control_number for t in tracked_claims]
        )
    }
    submissions = Submissions(found.values())
    for tracked in tracked_claims:
        pcn = tracked.patient_control_number
        words = status_words(tracked.statuses)
        claim = found.get(pcn)
        if claim is None:
            result.unmatched.append(
                Outcome(pcn, "not found", ["no claim has this control number", *words])
            )
            continue
        details: dict[str, Any] = status_details(tracked, "277", name)
        # A 277 names no batch; the charge it reports tells which submission it is about.
        if not answer_fits(claim, tracked, submissions, kind="277", batch_trace="",
                           details=details, actor=actor, result=result):  # fmt: skip
            continue
        verdict = _verdict(tracked)
        note = "277: " + "; ".join(words)
        moved = False
        payer_number = payer_number_read(tracked, claim, result)
        if verdict == ClaimStatus.REJECTED:
            moved = bool(move_claims_from([claim], allowed_from=(ClaimStatus.BATCHED, *WAITING),
                                          to=verdict, actor=actor, note=note, details=details))  # fmt: skip
        elif verdict == ClaimStatus.DENIED:
            moved = bool(move_claims_from([claim], allowed_from=WAITING, to=verdict, actor=actor,
                                          note=note, details=details))  # fmt: skip
        elif verdict == ClaimStatus.ACCEPTED:
            moved = bool(move_claims_from(
                [claim], allowed_from=(ClaimStatus.BATCHED, ClaimStatus.SUBMITTED), to=verdict,
                actor=actor, note=note, details=details,
                fields={"payer_claim_number": payer_number},
            ))  # fmt: skip
            if moved:
                correction_accepted(actor=actor, claim=claim)
        if not moved:
            # The answer is kept on the history even when it changes nothing.
            note_claims([claim], actor=actor, note=note, details=details)
            if payer_number:
                Claim.objects.filter(pk=claim.pk, payer_claim_number="").update(
                    payer_claim_number=payer_number
                )
        result.matched.append(Outcome(pcn, verdict if moved else "reported", words))
        apply_lines(claim, tracked, result)


@binds_actor()
def apply_277(content: bytes, actor: User | None = None, *, file_name: str = "") -> ApplyResult:
    """Apply a 277 claim status response claim by claim; all or nothing, once per file."""

    def handle(_interchange: Interchange, tx: Transaction, result: ApplyResult, name: str) -> None:
        if isinstance(tx.data, ClaimStatusTransaction):
            _apply(tx.data, actor, result, name)

    return apply_file("277", content, handle, actor=actor, permission=ClaimsPerm.SUBMIT,
                      file_name=file_name)  # fmt: skip
