"""999 and 277CA applied to claims: acceptance or rejection mapped back to each claim and line.

A 999 answers one functional group of a batch we sent: its AK1 names the group (GS06) and
each AK2 a transaction set (ST02). Accepted, the batch's claims are accepted (the file was
taken for processing; a batch downloaded and uploaded by hand counts as submitted then);
rejected, they return to the worklist as rejected with the errors in words (and the claims the
errors name through CTX*CLM01 get their own reasons). A 277CA answers claim by claim (by our
patient control number, CLM01): accepted claims keep the payer's claim number, rejected ones
(even after the 999 accepted them: the payer's front end may still refuse) return to the
worklist with the payer's status codes in words, and the lines get the status of their REF*FJ
(our line id).

A control number outlives a submission: a rejected claim is rebuilt and sent again under the
same CLM01. So a 277CA answer is matched to the submission it answers, not to the number
alone: its information receiver's trace (2200B TRN02) is the BHT03 of the 837 it answers,
which is our batch's interchange number, and its STC04 is the total charge that 837 billed.
An answer that fits one of the claim's earlier submissions (a batch it left, or the charge it
had then) but not its current one is kept in the claim's history as stale and changes
nothing; one that fits none of its submissions is listed as not matched.

A file is applied at most once: its kind and sha256 are inserted first, in the same
transaction as the changes, and the database refuses the second insert. Malformed X12 is
refused with the library's error, and nothing is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from medoffice.claims.claims_services import (
    PAYER_NUMBER_WORDS,
    correction_accepted,
    move_claims_from,
    note_claims,
    payer_number_fits,
)
from medoffice.claims.models import (
    AppliedFile,
    Claim,
    ClaimBatch,
    ClaimEvent,
    ClaimLine,
    ClaimStatus,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import User
from medoffice.core.role_permissions import require_perm
from medoffice.x12 import Document, Interchange, Transaction, X12Error, read
from medoffice.x12.transactions.claim_status import (
    ClaimStatusTransaction,
    Level,
    TrackedClaim,
)
from medoffice.x12.transactions.implementation_ack import ImplementationAck, TransactionSetResponse
from medoffice.x12.transactions.professional_claim import ProfessionalClaims

KINDS = ("999", "277CA", "271", "277")
# A 999 moves the claims still waiting for it; a 277CA those the clearinghouse has taken (and
# those a 999 accepted, which it may still reject or give the payer's claim number).
AWAITING_999 = (ClaimStatus.BATCHED, ClaimStatus.SUBMITTED)
AWAITING_277CA = (ClaimStatus.BATCHED, ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED)


@dataclass
class Outcome:
    """What one record (a batch, a claim, a line, a member) got from the file."""

    reference: str  # the claim's control number, the batch's file name, the member id
    result: str  # e.g. "accepted", "rejected", "submitted", "unchanged", "not found"
    words: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "result": self.result, "words": self.words}


@dataclass
class ApplyResult:
    kind: str
    sha256: str
    file_name: str
    already_applied: bool = False
    applied_at: Any = None
    matched: list[Outcome] = field(default_factory=list)
    unmatched: list[Outcome] = field(default_factory=list)
    # What the reader tolerated (a trailer count or control number a sender got wrong): the
    # file is applied, and these may be the only sign that it came truncated or mangled.
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "matched": [o.as_dict() for o in self.matched],
            "unmatched": [o.as_dict() for o in self.unmatched],
            "warnings": self.warnings,
        }


# --- shared by the 999, 277CA, 271 and 277 services ----------------------------------------


def read_x12(content: bytes, kind: str) -> tuple[list[tuple[Interchange, Transaction]], list[str]]:
    """The transactions of `kind` in the file with their interchange, and the reader's warnings
    in words; or InvalidInput naming what is wrong (the library's error: the segment number
    and id)."""
    if not content:
        raise InvalidInput("The file is empty.", field="file")
    try:
        document: Document = read(bytes(content))
    except X12Error as exc:
        raise InvalidInput(f"The file is not valid X12: {exc}.", field="file") from exc
    found = [
        (interchange, t)
        for interchange in document.interchanges
        for t in interchange.transactions()
        if t.kind == kind and t.data is not None
    ]
    if not found:
        kinds = sorted({t.kind for t in document.transactions()}) or ["nothing"]
        raise InvalidInput(f"The file holds no {kind} (it holds {', '.join(kinds)}).", field="file")
    return found, [str(warning) for warning in document.warnings]


def claim_file(
    kind: str, content: bytes, *, actor: User | None, file_name: str
) -> tuple[AppliedFile | None, AppliedFile | None]:
    """Insert the file's row (inside the caller's transaction): (new row, None), or
    (None, the earlier row) when the same content was applied before."""
    digest = hashlib.sha256(bytes(content)).hexdigest()
    try:
        with transaction.atomic():
            row = AppliedFile.objects.create(
                kind=kind, sha256=digest, file_name=file_name[:200], applied_by=actor
            )
    except IntegrityError:
        return None, AppliedFile.objects.get(kind=kind, sha256=digest)
    return row, None


def already_applied(kind: str, earlier: AppliedFile) -> ApplyResult:
    return ApplyResult(
        kind=kind,
        sha256=earlier.sha256,
        file_name=earlier.file_name,
        already_applied=True,
        applied_at=earlier.applied_at,
    )


def finish(row: AppliedFile, result: ApplyResult) -> ApplyResult:
    row.summary = result.as_dict()
    row.save(update_fields=["summary"])
    result.applied_at = row.applied_at
    return result


TransactionHandler = Callable[[Interchange, Transaction, ApplyResult, str], None]


def apply_file(
    kind: str,
    content: bytes,
    handle: TransactionHandler,
    *,
    actor: User | None,
    permission: str,
    file_name: str,
) -> ApplyResult:
    """The frame every response file is applied in: the actor's permission, the whole file
    read before anything is written (malformed X12 writes nothing), at most once by its
    content, and all or nothing. `handle` applies one transaction set of `kind`."""
    if actor is not None:
        require_perm(actor, permission)
    transactions, warnings = read_x12(content, kind)
    with transaction.atomic():
        row, earlier = claim_file(kind, content, actor=actor, file_name=file_name)
        if earlier is not None:
            return already_applied(kind, earlier)
        assert row is not None
        result = ApplyResult(kind, row.sha256, row.file_name, warnings=warnings)
        for interchange, tx in transactions:
            handle(interchange, tx, result, row.file_name)
        return finish(row, result)


# --- 999 -------------------------------------------------------------------------------------


def _digits(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _claims_by_set(batch: ClaimBatch) -> dict[int | None, list[str]]:
    """The claim ids (CLM01) of each transaction set (ST02) of a batch we wrote."""
    found: dict[int | None, list[str]] = {}
    for written in read(bytes(batch.content)).transactions():
        claims = written.data.claims() if isinstance(written.data, ProfessionalClaims) else []
        found[_digits(written.control_number)] = [claim.claim_id for claim in claims]
    return found


def _batch_for(ack: ImplementationAck, submitter: str) -> ClaimBatch | None:
    """Our batch whose GS06 is the 999's AK102, sent by the submitter the 999 is addressed to."""
    wanted = _digits(ack.group_control_number)
    if wanted is None:
        return None
    return ClaimBatch.objects.filter(submitter_id=submitter, group_control_number=wanted).first()


def _segment_words(response: TransactionSetResponse) -> tuple[list[str], dict[str, list[str]]]:
    """The errors in words: those of the whole set, and those naming a claim (CTX*CLM01)."""
    general: list[str] = []
    by_claim: dict[str, list[str]] = {}
    for error in response.segment_errors:
        text = f"segment {error.segment_id} (position {error.position}"
        text += f", loop {error.loop})" if error.loop else ")"
        text += f": {error.description}"
        for element in error.element_errors:
            text += f"; element {element.position}"
            if element.element_reference:
                text += f" (data element {element.element_reference})"
            text += f": {element.description}"
            if element.bad_value:
                text += f" ({element.bad_value!r})"
        claim = error.business_unit("CLM01")
        if claim:
            by_claim.setdefault(claim, []).append(text)
        else:
            general.append(text)
    general.extend(response.error_descriptions)
    return general, by_claim


UNKNOWN_SETS_LISTED = 20


def _apply_999(ack: ImplementationAck, submitter: str, actor: User | None, result: ApplyResult,
               name: str) -> None:  # fmt: skip
    if ack.functional_id != "HC":
        result.unmatched.append(
            Outcome(f"group {ack.group_control_number}", "not a claim batch",
                    [f"the 999 answers a {ack.functional_id} group, not claims (HC)"])
        )  # fmt: skip
        return
    batch = _batch_for(ack, submitter)
    if batch is None:
        result.unmatched.append(
            Outcome(
                f"group {ack.group_control_number}",
                "not found",
                [f"no batch of submitter {submitter} has group control number "
                 f"{ack.group_control_number}"],
            )
        )  # fmt: skip
        return
    by_set = _claims_by_set(batch)
    batch_claims = {c.control_number: c for c in Claim.objects.filter(batch=batch).order_by("pk")}
    answered = {_digits(r.control_number) for r in ack.transaction_sets}
    strangers = sorted((n for n in answered if n not in by_set), key=lambda n: n or 0)
    for number in strangers[:UNKNOWN_SETS_LISTED]:
        result.unmatched.append(Outcome(
            f"transaction set {number or 0:04d}", "not found",
            [f"the 999 answers transaction set {number or 0:04d}, which batch {batch.file_name} "
             "does not have"],
        ))  # fmt: skip
    if len(strangers) > UNKNOWN_SETS_LISTED:
        result.warnings.append(
            f"{len(strangers) - UNKNOWN_SETS_LISTED} more transaction sets the 999 answers are "
            f"not in batch {batch.file_name}."
        )
    if answered and not answered & set(by_set):
        # An answer about other sets is not one about these: the group's verdict (AK9) would
        # be guessed onto claims the 999 never names.
        result.warnings.append(
            f"The 999 answers none of batch {batch.file_name}'s transaction sets: nothing was "
            "applied to its claims. Check that it answers this batch."
        )
        return
    for st02, claim_ids in by_set.items():
        claims = [batch_claims[i] for i in claim_ids if i in batch_claims]
        response = next(
            (r for r in ack.transaction_sets if _digits(r.control_number) == st02), None
        )
        code = response.code if response is not None else ack.code
        accepted = response.accepted if response is not None else ack.accepted
        general, by_claim = _segment_words(response) if response is not None else ([], {})
        if response is None:
            general = [f"the group: {ack.description}", *ack.error_descriptions]
        verdict = response.description if response is not None else ack.description
        details = {"kind": "999", "file": name, "group_control_number": ack.group_control_number,
                   "transaction_set": f"{st02 or 0:04d}", "code": code, "words": verdict}  # fmt: skip
        result.matched.append(
            Outcome(batch.file_name, "accepted" if accepted else "rejected", [verdict, *general])
        )
        known = set(batch_claims)
        for claim_id in by_claim:
            if claim_id not in known:
                result.unmatched.append(
                    Outcome(claim_id, "not found",
                            [f"named by the 999 but not in batch {batch.file_name}"])
                )  # fmt: skip
        for claim in claims:
            own = by_claim.get(claim.control_number, [])
            rejected = not accepted or bool(own)
            if rejected:
                words = own or general or [verdict]
                if not own and by_claim:
                    words = [f"the transaction set was rejected ({verdict}) for errors in "
                             f"other claims: {', '.join(sorted(by_claim))}"]  # fmt: skip
                moved = bool(move_claims_from(
                    [claim], allowed_from=AWAITING_999, to=ClaimStatus.REJECTED, actor=actor,
                    note="999 rejected: " + "; ".join(words),
                    details={**details, "errors": words},
                ))  # fmt: skip
                result.matched.append(
                    Outcome(claim.control_number, "rejected" if moved else "unchanged",
                            words if moved else [f"the claim is {claim.status}", *words])
                )  # fmt: skip
                continue
            extra = {"submitted_at": claim.submitted_at or timezone.now()}
            moved = bool(move_claims_from(
                [claim], allowed_from=AWAITING_999, to=ClaimStatus.ACCEPTED,
                actor=actor, note=f"999 accepted: {verdict}",
                details={**details, "errors": general}, fields=extra,
            ))  # fmt: skip
            if moved:
                correction_accepted(actor=actor, claim=claim)
            if not moved and claim.status == ClaimStatus.ACCEPTED:
                note_claims([claim], actor=actor, note=f"999: {verdict}",
                            details={**details, "errors": general})  # fmt: skip
                moved = True
            result.matched.append(
                Outcome(claim.control_number, "accepted" if moved else "unchanged",
                        [verdict] if moved else [f"the claim is {claim.status}"])
            )  # fmt: skip
    if batch.submitted_at is None and any(
        o.result == "accepted" and o.reference != batch.file_name for o in result.matched
    ):
        ClaimBatch.objects.filter(pk=batch.pk, submitted_at__isnull=True).update(
            submitted_at=timezone.now()
        )


@binds_actor()
def apply_999(content: bytes, *, actor: User | None = None, file_name: str = "") -> ApplyResult:
    """Apply a 999 to the batch it answers (nothing changes for one that matches none)."""

    def handle(interchange: Interchange, tx: Transaction, result: ApplyResult, name: str) -> None:
        if isinstance(tx.data, ImplementationAck):
            _apply_999(tx.data, interchange.receiver_id.strip(), actor, result, name)

    return apply_file("999", content, handle, actor=actor, permission=ClaimsPerm.SUBMIT,
                      file_name=file_name)  # fmt: skip


# --- 277CA -----------------------------------------------------------------------------------


def status_words(statuses: Iterable[Any]) -> list[str]:
    words: list[str] = []
    for status in statuses:
        words.extend(status.descriptions)
        if status.message:
            words.append(status.message)
    return words


def payer_number_read(tracked: TrackedClaim, claim: Claim, result: ApplyResult) -> str:
    """The payer's claim number (REF*1K) of an answer, when it can be kept (`payer_number_fits`),
    else the claim's own, with a warning naming the claim (the rest of the file applies)."""
    number = tracked.payer_claim_number
    if number and not payer_number_fits(number):
        shown = number if len(number) <= 60 else number[:57] + "..."
        result.warnings.append(
            f"Claim {claim.control_number}: the payer claim number (REF*1K) {shown!r} is not "
            f"{PAYER_NUMBER_WORDS}; it was not recorded. Record it on the claim's page when the "
            "payer confirms it."
        )
        number = ""
    return number or claim.payer_claim_number


def status_details(tracked: TrackedClaim, kind: str, name: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "file": name,
        "payer_claim_number": tracked.payer_claim_number,
        "statuses": [
            {"category": c.category, "code": c.code, "entity": c.entity,
             "words": c.description} for s in tracked.statuses for c in s.codes
        ],
    }  # fmt: skip


LINE_CATEGORIES = {"F1": "paid", "F2": "denied", "F3": "finalized", "F4": "finalized"}


def line_status(statuses: Sequence[Any]) -> str:
    """A line's status in a word: rejected, accepted, pending, paid, denied, finalized."""
    if any(s.rejected for s in statuses):
        return "rejected"
    if not statuses:
        return "reported"
    category = statuses[0].category
    if statuses[0].accepted:
        return "accepted"
    if category in LINE_CATEGORIES:
        return LINE_CATEGORIES[category]
    if category.startswith("P"):
        return "pending"
    if category.startswith("F"):
        return "finalized"
    return category[:12] or "reported"


def apply_lines(claim: Claim, tracked: TrackedClaim, result: ApplyResult) -> None:
    """The lines' statuses, each matched by its REF*FJ to the line we sent (REF*6R = its id)."""
    if not tracked.service_lines:
        return
    lines = {str(line.pk): line for line in ClaimLine.objects.filter(claim=claim)}
    for service in tracked.service_lines:
        control = service.line_item_control_number
        line = lines.get(control)
        if line is None and not control:  # no REF*FJ: the one line of that code, if one
            same = [li for li in lines.values() if li.code == service.code]
            line = same[0] if len(same) == 1 else None
        label = f"{claim.control_number} line {control or service.code}"
        if line is None:
            result.unmatched.append(
                Outcome(
                    label, "not found", [f"no line {control!r} on claim {claim.control_number}"]
                )
            )
            continue
        status = line_status(service.statuses)
        ClaimLine.objects.filter(pk=line.pk).update(status=status[:12])
        result.matched.append(Outcome(label, status, status_words(service.statuses)))


def _claims_by_receiver_trace(document: ClaimStatusTransaction) -> list[tuple[str, TrackedClaim]]:
    """Each claim of the 277CA with the trace of the information receiver level it is under
    (2200B TRN02: the BHT03 of the 837 it answers; "" when there is none)."""
    found: list[tuple[str, TrackedClaim]] = []

    def walk(level: Level, trace: str) -> None:
        if level.code == "21":
            trace = level.trace_number
        found.extend((trace, claim) for claim in level.claims)
        for child in level.children:
            walk(child, trace)

    for source in document.sources:
        walk(source, "")
    return found


@dataclass(frozen=True)
class Submission:
    """One sending of a claim: the batch it went in and the total charge it billed there."""

    batch: ClaimBatch
    charge: Decimal | None  # as billed in the batch's file (CLM02); None when not found there

    @property
    def words(self) -> str:
        charge = f", ${self.charge:.2f}" if self.charge is not None else ""
        return f"batch {self.batch.file_name} (BHT03 {self.batch.interchange_control_number:09d}{charge})"


class Submissions:
    """The submissions of the claims a 277CA names: the batch each is in now, and those it was
    in before (its history's "batched" events), each with the charge its file billed. A batch's
    file is read once, and only when an answer does not fit a claim's current batch."""

    def __init__(self, claims: Iterable[Claim]) -> None:
        self.claims = {c.pk: c for c in claims}
        self._charges: dict[int, dict[str, Decimal]] = {}
        earlier_ids: dict[int, set[int]] = {pk: set() for pk in self.claims}
        earlier_names: dict[int, set[str]] = {pk: set() for pk in self.claims}
        events = ClaimEvent.objects.filter(
            claim_id__in=list(self.claims), to_status=ClaimStatus.BATCHED
        ).values_list("claim_id", "details", "note")
        for claim_id, details, note in events:
            batch_id = (details or {}).get("batch")
            if isinstance(batch_id, int):
                earlier_ids[claim_id].add(batch_id)
            elif note.startswith("in batch "):  # recorded before the batch's id was kept
                earlier_names[claim_id].add(note.removeprefix("in batch ").strip())
        wanted_ids = {b for ids in earlier_ids.values() for b in ids}
        wanted_ids |= {c.batch_id for c in self.claims.values() if c.batch_id}
        wanted_names = {n for names in earlier_names.values() for n in names}
        batches = ClaimBatch.objects.filter(pk__in=wanted_ids) | ClaimBatch.objects.filter(
            file_name__in=wanted_names
        )
        self.batches = {b.pk: b for b in batches.defer("content")}
        by_name = {b.file_name: b.pk for b in self.batches.values()}
        self.batch_ids = {
            pk: earlier_ids[pk] | {by_name[n] for n in earlier_names[pk] if n in by_name}
            for pk in self.claims
        }

    def charge_in(self, batch: ClaimBatch, control_number: str) -> Decimal | None:
        if batch.pk not in self._charges:
            content = ClaimBatch.objects.filter(pk=batch.pk).values_list("content", flat=True)
            charges: dict[str, Decimal] = {}
            try:
                for written in read(bytes(content[0])).transactions():
                    if isinstance(written.data, ProfessionalClaims):
                        charges.update((c.claim_id, c.charge) for c in written.data.claims())
            except X12Error:
                pass  # a file we cannot read again: its charges are not known
            self._charges[batch.pk] = charges
        return self._charges[batch.pk].get(control_number)

    def current(self, claim: Claim) -> Submission | None:
        batch = self.batches.get(claim.batch_id) if claim.batch_id else None
        if batch is None:
            return None
        return Submission(batch, Decimal(claim.total_charge_cents) / 100)

    def earlier(self, claim: Claim) -> list[Submission]:
        ids = sorted(self.batch_ids[claim.pk] - {claim.batch_id})
        return [
            Submission(self.batches[i], self.charge_in(self.batches[i], claim.control_number))
            for i in ids
            if i in self.batches
        ]


def _fits(
    submission: Submission, batch_number: int | None, charge: Decimal | None, submitter: str = ""
) -> bool:
    """Whether an answer naming this batch number (BHT03) and charge, addressed to `submitter`
    (its ISA08), fits the submission; what the answer does not carry does not count against
    it. Batch numbers restart per submitter id, so the number alone names no batch."""
    if submitter and submission.batch.submitter_id.strip() != submitter:
        return False
    if batch_number is not None and submission.batch.interchange_control_number != batch_number:
        return False
    return charge is None or submission.charge is None or submission.charge == charge


def which_submission(
    claim: Claim, submissions: Submissions, trace: str, charge: Decimal | None, submitter: str = ""
) -> tuple[str, Submission | None]:
    """("current", its submission), ("stale", the earlier one it fits), ("none", None) when it
    fits none of the claim's submissions, or ("unknown", None) when the claim has no
    submission on record (it went out before batches were kept): then the number decides."""
    current = submissions.current(claim)
    earlier = submissions.earlier(claim)
    if current is None and not earlier:
        return "unknown", None
    number = _digits(trace)
    ours = {
        (s.batch.submitter_id.strip(), s.batch.interchange_control_number)
        for s in [*earlier, *([current] if current else [])]
    }
    if not any(submitter in ("", sent_by) and number == n for sent_by, n in ours):
        number = None  # a trace that names none of the claim's batches: the charge decides
    if current is not None and _fits(current, number, charge, submitter):
        return "current", current
    stale = next((s for s in reversed(earlier) if _fits(s, number, charge, submitter)), None)
    if stale is not None:
        return "stale", stale
    return "none", None


def answer_fits(
    claim: Claim,
    tracked: TrackedClaim,
    submissions: Submissions,
    *,
    kind: str,
    batch_trace: str,
    details: dict[str, Any],
    actor: User | None,
    result: ApplyResult,
    submitter: str = "",
) -> bool:
    """Whether a 277CA or 277 answer on `claim` is to be applied: it fits the claim's current
    submission (or the claim has none on record). Otherwise it is kept in the claim's history,
    as stale when it fits an earlier submission, and listed; nothing else changes."""
    pcn = claim.control_number
    words = status_words(tracked.statuses)
    details.update(batch_trace=batch_trace, charge=str(tracked.charge or ""))
    fit, submission = which_submission(claim, submissions, batch_trace, tracked.charge,
                                       submitter)  # fmt: skip
    if fit in ("current", "unknown"):
        return True
    current = submissions.current(claim)
    now = current.words if current is not None else "none out: not sent since"
    if fit == "stale":
        assert submission is not None
        note = (f"{kind} stale, not applied: it answers the earlier submission in "
                f"{submission.words}, not the current one ({now}): " + "; ".join(words))  # fmt: skip
        note_claims([claim], actor=actor, note=note,
                    details={**details, "stale": True, "answers_batch": submission.batch.pk})  # fmt: skip
        result.matched.append(Outcome(pcn, "stale", [note]))
        return False
    answered = f"BHT03 {batch_trace or 'none'}, charge " + (
        f"${tracked.charge:.2f}" if tracked.charge is not None else "none"
    )
    why = (f"the answer ({answered}) fits none of claim {pcn}'s submissions (the current "
           f"one: {now}); it was not applied")  # fmt: skip
    note_claims([claim], actor=actor, note=f"{kind} not applied: {why}", details=details)
    result.unmatched.append(Outcome(pcn, "not matched", [why, *words]))
    return False


def _apply_277ca(document: ClaimStatusTransaction, actor: User | None, result: ApplyResult,
                 name: str, submitter: str = "") -> None:  # fmt: skip
    tracked_claims = _claims_by_receiver_trace(document)
    found = {
        c.control_number: c
        for c in Claim.objects.filter(
            control_number__in=[t.patient_control_number for _trace, t in tracked_claims]
        )
    }
    submissions = Submissions(found.values())
    for trace, tracked in tracked_claims:
        pcn = tracked.patient_control_number
        claim = found.get(pcn)
        words = status_words(tracked.statuses)
        if claim is None:
            result.unmatched.append(Outcome(pcn, "not found", ["no claim has this control number",
                                                               *words]))  # fmt: skip
            continue
        details = status_details(tracked, "277CA", name)
        if not answer_fits(claim, tracked, submissions, kind="277CA", batch_trace=trace,
                           details=details, actor=actor, result=result,
                           submitter=submitter):  # fmt: skip
            continue
        if tracked.rejected:
            moved = bool(move_claims_from(
                [claim], allowed_from=AWAITING_277CA, to=ClaimStatus.REJECTED, actor=actor,
                note="277CA rejected: " + "; ".join(words), details=details,
            ))  # fmt: skip
            outcome = "rejected" if moved else "unchanged"
        elif tracked.accepted:
            payer_number = payer_number_read(tracked, claim, result)
            moved = bool(move_claims_from(
                [claim], allowed_from=(ClaimStatus.BATCHED, ClaimStatus.SUBMITTED),
                to=ClaimStatus.ACCEPTED, actor=actor, note="277CA accepted: " + "; ".join(words),
                details=details, fields={"payer_claim_number": payer_number},
            ))  # fmt: skip
            if moved:
                correction_accepted(actor=actor, claim=claim)
            if not moved and claim.status == ClaimStatus.ACCEPTED:
                # The 999 accepted it already; the payer's answer is history, and its number.
                if payer_number:
                    Claim.objects.filter(pk=claim.pk, payer_claim_number="").update(
                        payer_claim_number=payer_number
                    )
                note_claims([claim], actor=actor, note="277CA accepted: " + "; ".join(words),
                            details=details)  # fmt: skip
                moved = True
            outcome = "accepted" if moved else "unchanged"
        else:
            note_claims([claim], actor=actor, note="277CA: " + "; ".join(words), details=details)
            moved, outcome = True, "reported"
        result.matched.append(
            Outcome(pcn, outcome, words if moved else [f"the claim is {claim.status}", *words])
        )
        apply_lines(claim, tracked, result)


@binds_actor()
def apply_277ca(content: bytes, *, actor: User | None = None, file_name: str = "") -> ApplyResult:
    """Apply a 277CA claim by claim; claims it names that we do not have are listed."""

    def handle(interchange: Interchange, tx: Transaction, result: ApplyResult, name: str) -> None:
        if isinstance(tx.data, ClaimStatusTransaction):
            _apply_277ca(tx.data, actor, result, name, interchange.receiver_id.strip())

    return apply_file("277CA", content, handle, actor=actor, permission=ClaimsPerm.SUBMIT,
                      file_name=file_name)  # fmt: skip
