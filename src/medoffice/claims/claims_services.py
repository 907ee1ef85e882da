"""Claims' writes: building a claim from a ready encounter, its status changes (each one in its
history), voiding and replacing a claim the payer has, and overriding scrubber warnings.

Every status change goes through `move_claims` (one claim or many): it checks the transition
against `TRANSITIONS`, updates the rows and writes one `ClaimEvent` per claim, in the same
transaction. "At most once" rules are the database's: one original claim per encounter and
coverage (`claim_original_once`), one void and one replacement per claim (`claim_change_once`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Model
from django.utils import timezone

from medoffice.claims import charges
from medoffice.claims.models import (
    Claim,
    ClaimDiagnosis,
    ClaimEvent,
    ClaimLine,
    ClaimStatus,
    ControlCounter,
    Encounter,
    EncounterDiagnosis,
    EncounterStatus,
    FrequencyCode,
    ScrubFinding,
    ServiceLine,
    Severity,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.claims.selectors import responsible_coverage
from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition
from medoffice.core.models import Practice, User
from medoffice.patients.models import Coverage, Priority

S = ClaimStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SCRUB_ERRORS, S.READY, S.VOID}),
    S.SCRUB_ERRORS: frozenset({S.READY, S.VOID}),
    S.READY: frozenset({S.SCRUB_ERRORS, S.BATCHED, S.VOID}),
    # An acknowledgement may answer before the 999 did (a 277CA, a 277) and a payer may
    # reject a claim its clearinghouse accepted, or deny it on a claim status answer.
    S.BATCHED: frozenset({S.SUBMITTED, S.READY, S.ACCEPTED, S.REJECTED}),
    # VOID from a sent claim only when the payer accepts the void claim made for it.
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.DENIED, S.VOID}),
    S.ACCEPTED: frozenset({S.PAID, S.DENIED, S.REJECTED, S.VOID}),
    # Rejected before adjudication: scrubbed again, or rebuilt from the corrected visit.
    S.REJECTED: frozenset({S.DRAFT, S.SCRUB_ERRORS, S.READY, S.VOID}),
    S.PAID: frozenset({S.VOID}),
    S.DENIED: frozenset({S.VOID}),
    S.VOID: frozenset(),
}
"""The statuses a claim may move to from each status (anything else is InvalidTransition)."""

SCRUBBABLE = frozenset({S.DRAFT, S.SCRUB_ERRORS, S.READY, S.REJECTED})
"""Claims the scrubber may (re)check: not yet batched, or rejected and back on the worklist."""

CHANGEABLE = frozenset({S.SUBMITTED, S.ACCEPTED, S.PAID, S.DENIED})
"""Claims the payer has: corrected by a replacement (frequency 7) or a void (frequency 8)."""

CONTROL_KIND = "CLM01"
CONTROL_DIGITS = 10
MAX_REASON = 300


# --- Status changes ------------------------------------------------------------------------------


def move_claims(
    claims: Sequence[Claim],
    *,
    to: str,
    actor: User | None,
    note: str = "",
    details: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> None:
    """Move claims to status `to` (see `move_rows`), and the instances with them."""
    move_rows(
        [(claim.pk, claim.status, claim.control_number) for claim in claims],
        to=to, actor=actor, note=note, details=details, fields=fields,
    )  # fmt: skip
    for claim in claims:
        claim.status = to
        for name, value in (fields or {}).items():
            setattr(claim, name, value)


def move_rows(
    rows: Sequence[tuple[int, str, str]],
    *,
    to: str,
    actor: User | None,
    note: str = "",
    details: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> None:
    """The one place a claim's status changes: claims given as (id, current status, control
    number) move to `to`, each with one history event (actor, from, to, note), in one
    transaction. A claim already in `to` is left as it is (no event); a transition not in
    TRANSITIONS is refused before anything is written. `fields` are set in the same update."""
    moving = _moving(rows, to)
    if not moving:
        return
    with transaction.atomic():
        by_from: dict[str, list[int]] = {}
        for pk, status, _control in moving:
            by_from.setdefault(status, []).append(pk)
        for from_status, ids in by_from.items():
            # The status in the filter makes a concurrent change lose cleanly, not silently.
            changed = _update(ids, from_status, to, fields)
            if changed != len(ids):
                raise Conflict("A claim changed while this was being done; reload and try again.")
        _events(moving, to, actor=actor, note=note, details=details)


def move_claims_from(
    claims: Sequence[Claim],
    *,
    allowed_from: Collection[str],
    to: str,
    actor: User | None,
    note: str = "",
    details: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> list[Claim]:
    """Move those of the claims that are in one of `allowed_from` to `to` (TRANSITIONS
    deciding, as in `move_rows`), skipping rather than refusing the others, and return the
    claims that moved (the instances with them). Each update is conditional on the claim's
    status (the database decides, not a read before it), so a claim another change moved
    meanwhile is skipped too. For answers from outside (acknowledgements, claim status)
    that apply where they still can."""
    candidates = [claim for claim in claims if claim.status in allowed_from]
    _moving([(c.pk, c.status, c.control_number) for c in candidates], to)
    moved: list[Claim] = []
    with transaction.atomic():
        for claim in candidates:
            if claim.status != to and _update([claim.pk], claim.status, to, fields):
                moved.append(claim)
        _events(
            [(c.pk, c.status, c.control_number) for c in moved], to,
            actor=actor, note=note[:2000], details=details,
        )  # fmt: skip
    for claim in moved:
        claim.status = to
        for name, value in (fields or {}).items():
            setattr(claim, name, value)
    return moved


def note_claims(
    claims: Sequence[Claim], *, actor: User | None, note: str, details: dict[str, Any] | None
) -> None:
    """A history event that changes no status (an answer kept on the claim's history)."""
    by_status: dict[str, list[tuple[int, str, str]]] = {}
    for claim in claims:
        by_status.setdefault(claim.status, []).append(
            (claim.pk, claim.status, claim.control_number)
        )
    for status, rows in by_status.items():
        _events(rows, status, actor=actor, note=note[:2000], details=details)


def _moving(rows: Sequence[tuple[int, str, str]], to: str) -> list[tuple[int, str, str]]:
    """The rows not already in `to`; InvalidTransition naming the first that cannot become
    `to`, before anything is written."""
    if to not in TRANSITIONS:
        raise InvalidInput(f"{to!r} is not a claim status.", field="status")
    moving = [row for row in rows if row[1] != to]
    for _pk, status, control in moving:
        if to not in TRANSITIONS[status]:
            raise InvalidTransition(
                f"Claim {control} is {S(status).label.lower()}: it cannot become "
                f"{S(to).label.lower()}."
            )
    return moving


def _update(ids: list[int], from_status: str, to: str, fields: dict[str, Any] | None) -> int:
    updates = {"status": to, "updated_at": timezone.now(), **(fields or {})}
    return Claim.objects.filter(pk__in=ids, status=from_status).update(**updates)


def _events(
    rows: Sequence[tuple[int, str, str]],
    to: str,
    *,
    actor: User | None,
    note: str,
    details: dict[str, Any] | None,
) -> None:
    insert_rows(
        ClaimEvent, ("claim_id", "from_status"),
        [(pk, status) for pk, status, _control in rows],
        constants={"at": timezone.now(), "actor_id": actor.pk if actor else None,
                   "to_status": to, "note": note, "details": details or {}},
    )  # fmt: skip


def _field(model: type[Model], name: str) -> Field:
    return cast(Field, model._meta.get_field(name))


def insert_rows(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[int | str | None]],
    *,
    constants: dict[str, Any] | None = None,
) -> None:
    """Insert plain rows (history events, findings) in one executemany: for tables without
    audit capture that the scrubber writes 10,000 claims at a time. The varying values are
    plain numbers and text; `constants` (the same in every row) are prepared for the database
    once, by their fields, as Django's own insert does."""
    if not rows:
        return
    fixed = {_field(model, name): value for name, value in (constants or {}).items()}
    prepared = [field.get_db_prep_save(value, connection) for field, value in fixed.items()]
    fields = [_field(model, name) for name in columns] + list(fixed)
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 (names from the model)
        f"({', '.join(quote(str(field.column)) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*row, *prepared] for row in rows])


@binds_actor("actor")
def claim_set_status(*, actor: User | None, claim: Claim, to: str, note: str = "") -> Claim:
    """One claim's status change (the mailbox and remittance steps call this)."""
    move_claims([claim], to=to, actor=actor, note=note)
    return claim


# --- Building ------------------------------------------------------------------------------------


def control_prefix(practice: Practice | None) -> str:
    """Up to 4 capital letters from the practice's name (the claim numbers' prefix)."""
    letters = re.sub(r"[^A-Z]", "", (practice.legal_name if practice else "").upper())
    return (letters[:4] or "MO").ljust(2, "X")


def next_control_number() -> str:
    """Prefix + a zero-padded number from the practice's counter, never reused (letters and
    digits only, at most 14 characters). Call inside the transaction that uses it."""
    prefix = control_prefix(Practice.objects.order_by("pk").first())
    counter, _ = ControlCounter.objects.get_or_create(submitter_id=prefix, kind=CONTROL_KIND)
    ControlCounter.objects.filter(pk=counter.pk).update(last_value=F("last_value") + 1)
    value = ControlCounter.objects.values_list("last_value", flat=True).get(pk=counter.pk)
    return f"{prefix}{value:0{CONTROL_DIGITS}d}"


def _lines_of(encounter: Encounter) -> list[ServiceLine]:
    lines = list(ServiceLine.objects.filter(encounter=encounter).order_by("line_number"))
    if not lines:
        raise InvalidInput(
            f"Encounter {encounter.pk} has no service lines: code the visit first.",
            field="encounter",
        )
    return lines


def _copy_lines(claim: Claim, lines: Iterable[ServiceLine]) -> None:
    ClaimLine.objects.bulk_create(
        ClaimLine(
            claim=claim,
            service_line=line,
            line_number=line.line_number,
            code=line.code,
            modifiers=list(line.modifiers),
            units=line.units,
            charge_cents=line.charge_cents,
            diagnosis_pointers=list(line.diagnosis_pointers),
            ndc=line.ndc,
            ndc_quantity=line.ndc_quantity,
            ndc_unit=line.ndc_unit,
        )
        for line in lines
    )


def _diagnoses_of(encounter: Encounter) -> list[tuple[int, str]]:
    """The encounter's diagnoses now, as (rank, code) in rank order."""
    return list(
        EncounterDiagnosis.objects.filter(encounter=encounter)
        .order_by("rank")
        .values_list("rank", "code")
    )


def _copy_diagnoses(claim: Claim, diagnoses: Iterable[tuple[int, str]]) -> None:
    """The claim keeps these diagnoses (its lines point at their ranks) whatever the visit's
    coding becomes."""
    ClaimDiagnosis.objects.bulk_create(
        ClaimDiagnosis(claim=claim, rank=rank, code=code) for rank, code in diagnoses
    )


@transaction.atomic
@binds_actor("actor")
def claim_build(*, actor: User | None, encounter: Encounter) -> Claim:
    """The original claim (frequency 1, draft) of a ready encounter for its primary coverage;
    the visit's receivable follows it to its payer (`charges.move_receivable`), in the same
    transaction, with a line in the claim's history.

    A second build of the same encounter and coverage is refused (Conflict naming the claim),
    unless that claim was rejected: then it is rebuilt from the corrected visit. The encounter's
    row is locked first (a reopening, or another build, waits); two builds at once make one
    claim, the database's `claim_original_once` deciding."""
    encounter = _locked_encounter(encounter)
    if encounter.status != EncounterStatus.READY:
        raise InvalidTransition(
            f"Encounter {encounter.pk} is {encounter.get_status_display().lower()}: "
            "finalize it before building its claim."
        )
    coverage = responsible_coverage(encounter)
    if coverage is None:
        raise InvalidInput(
            f"The patient has no primary coverage in force on "
            f"{encounter.date_of_service:%m/%d/%Y}: the visit is self-pay, no claim to build.",
            field="encounter",
        )
    if coverage.priority != Priority.PRIMARY:
        raise InvalidInput(
            f"The only coverage in force on {encounter.date_of_service:%m/%d/%Y} is "
            f"{coverage.payer.name}, recorded as {coverage.get_priority_display().lower()}: a "
            "secondary claim goes after the primary's remittance. If the primary coverage "
            "ended, make this one the primary on the patient's record, then build the claim "
            "(the charges are on its account already).",
            field="encounter",
        )
    existing = _original_of(encounter, coverage)
    if existing is not None and existing.status == S.REJECTED:
        return _rebuild_rejected(actor, existing, encounter)
    if existing is not None:
        raise _already_built(existing)
    lines = _lines_of(encounter)
    diagnoses = _diagnoses_of(encounter)
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                encounter=encounter,
                coverage=coverage,
                payer=coverage.payer,
                control_number=next_control_number(),
                frequency_code=FrequencyCode.ORIGINAL,
                status=S.DRAFT,
                total_charge_cents=sum(line.charge_cents for line in lines),
                created_by=actor,
            )
            _copy_lines(claim, lines)
            _copy_diagnoses(claim, diagnoses)
            _created(claim, actor, f"Built from encounter {encounter.pk} for {coverage.payer}.")
            _close_rejected_elsewhere(actor, encounter, claim)
            _follow(actor, claim, encounter)
    except IntegrityError:
        existing = _original_of(encounter, coverage)
        if existing is None:
            raise
        raise _already_built(existing) from None
    return claim


@transaction.atomic
def _rebuild_rejected(actor: User | None, claim: Claim, encounter: Encounter) -> Claim:
    """A rejected claim never reached the payer's adjudication: it goes again as an original
    (frequency 1, same control number), with the lines and diagnoses of the corrected
    encounter, back to draft to be scrubbed and batched. Two rebuilds at once make one (the
    row is locked)."""
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    if claim.status != S.REJECTED:
        raise _already_built(claim)
    claim = _refill(
        actor, claim, frequency=FrequencyCode.ORIGINAL, lines=_lines_of(encounter),
        diagnoses=_diagnoses_of(encounter),
        note=f"Rebuilt from the corrected encounter {encounter.pk} after its rejection; "
             "it goes again as an original claim.",
    )  # fmt: skip
    _follow(actor, claim, encounter)
    return claim


def _locked_encounter(encounter: Encounter) -> Encounter:
    """The encounter as it is now, its row locked until the build commits."""
    return (
        Encounter.objects.select_for_update(of=("self",))
        .select_related("patient", "location", "rendering_provider")
        .get(pk=encounter.pk)
    )


def _follow(actor: User | None, claim: Claim, encounter: Encounter) -> None:
    """The visit's open charges follow the claim to its payer (one entry, when they are
    receivable from another), said in the claim's history."""
    moved = charges.move_receivable(encounter, claim, actor=actor)
    if moved is not None:
        note_claims(
            [claim], actor=actor, note=moved.words,
            details={"receivable_entry": moved.entry.pk, "from": list(moved.from_names),
                     "to": moved.to_name, "cents": moved.cents},
        )  # fmt: skip


def _refill(
    actor: User | None,
    claim: Claim,
    *,
    frequency: str,
    lines: list[Any],
    diagnoses: list[tuple[int, str]],
    note: str,
) -> Claim:
    """A rejected claim (locked by the caller) takes these lines and diagnoses, loses its old
    findings and batch, and goes back to draft to be scrubbed and sent again."""
    ClaimLine.objects.filter(claim=claim).delete()
    ClaimDiagnosis.objects.filter(claim=claim).delete()
    ScrubFinding.objects.filter(claim=claim).delete()
    _write_lines(claim, frequency, lines)
    _copy_diagnoses(claim, diagnoses)
    move_claims(
        [claim], to=S.DRAFT, actor=actor, note=note,
        fields={"total_charge_cents": sum(line.charge_cents for line in lines), "batch": None,
                "submitted_at": None, "scrubbed_at": None, "warnings_overridden_by": None,
                "override_reason": ""},
    )  # fmt: skip
    return claim


def rebuildable_claim(encounter: Encounter, claims: Iterable[Claim]) -> Claim | None:
    """The claim `claim_build` would rebuild for this visit: its rejected original, once the
    visit is finalized again (with the corrected codes)."""
    if encounter.status != EncounterStatus.READY:
        return None
    return next(
        (
            c
            for c in claims
            if c.status == S.REJECTED and c.frequency_code == FrequencyCode.ORIGINAL
        ),
        None,
    )


def _close_rejected_elsewhere(actor: User | None, encounter: Encounter, claim: Claim) -> None:
    """A visit rejected by one payer and billed to another (the coverage was corrected): the
    rejected claim is closed, naming the claim that took its place."""
    rejected = list(
        Claim.objects.filter(encounter=encounter, frequency_code=FrequencyCode.ORIGINAL,
                             status=S.REJECTED)
        .exclude(coverage_id=claim.coverage_id)
        .select_for_update()
    )  # fmt: skip
    if rejected:
        move_claims(rejected, to=S.VOID, actor=actor,
                    note=f"Closed: the visit is billed to {claim.payer} as claim "
                         f"{claim.control_number}.")  # fmt: skip


def _original_of(encounter: Encounter, coverage: Coverage) -> Claim | None:
    return Claim.objects.filter(
        encounter=encounter, coverage=coverage, frequency_code=FrequencyCode.ORIGINAL
    ).first()


def _already_built(existing: Claim) -> Conflict:
    return Conflict(
        f"Encounter {existing.encounter_id} already has claim {existing.control_number} for "
        "this coverage; correct it with a replacement, not a second claim.",
        code="claim_exists",
    )


def _created(claim: Claim, actor: User | None, note: str) -> None:
    ClaimEvent.objects.create(claim=claim, actor=actor, from_status="", to_status=claim.status,
                              note=note)  # fmt: skip


# --- Void and replacement ------------------------------------------------------------------------


def _clean_reason(reason: str, what: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput(f"Reason: say why the claim is {what}.", field="reason")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"Reason: at most {MAX_REASON} characters.", field="reason")
    return text


def _check_changeable(claim: Claim, what: str) -> Encounter:
    """The claim's visit, its row locked, then the claim's: a void and a replacement racing are
    made one at a time, and the second sees the first. The visit is locked first, in the order
    a build and a reopening lock them (the new claim's row refers to the visit)."""
    encounter = _locked_encounter(Encounter(pk=claim.encounter_id))
    Claim.objects.select_for_update().filter(pk=claim.pk).values_list("pk").first()
    if claim.frequency_code == FrequencyCode.VOID:
        raise InvalidTransition(
            f"Claim {claim.control_number} is itself a void: it cannot be {what}."
        )
    if claim.status not in CHANGEABLE:
        raise InvalidTransition(
            f"Claim {claim.control_number} is {claim.get_status_display().lower()}: only a "
            f"claim the payer has (submitted, accepted, paid or denied) is {what}; "
            "one not yet sent is corrected on its encounter and scrubbed again."
        )
    if not claim.payer_claim_number.strip():
        raise InvalidInput(
            f"Claim {claim.control_number} has no payer claim number yet: the payer's number "
            f"(from its acknowledgement or remittance) is needed before it can be {what}.",
            field="payer_claim_number",
        )
    if (
        Claim.objects.filter(replaces=claim, frequency_code=FrequencyCode.VOID)
        .exclude(status=S.REJECTED)
        .exists()
    ):
        raise Conflict(f"Claim {claim.control_number} has already been voided.")
    # One correction at a time: once replaced, the payer's claim is the replacement's.
    replacement = (
        Claim.objects.filter(replaces=claim, frequency_code=FrequencyCode.REPLACEMENT)
        .exclude(status=S.REJECTED)
        .first()
    )
    if replacement is not None:
        raise Conflict(
            f"Claim {claim.control_number} was replaced by claim {replacement.control_number} "
            f"({replacement.get_status_display().lower()}): correct or void the replacement, "
            "not the claim it replaced."
        )
    return encounter


def _write_lines(claim: Claim, frequency: str, lines: list[Any]) -> None:
    if frequency != FrequencyCode.VOID:
        _copy_lines(claim, lines)
        return
    ClaimLine.objects.bulk_create(  # a void copies the claim it voids, line for line
        ClaimLine(
            claim=claim, service_line_id=line.service_line_id,
            line_number=line.line_number, code=line.code,
            modifiers=list(line.modifiers), units=line.units,
            charge_cents=line.charge_cents,
            diagnosis_pointers=list(line.diagnosis_pointers), ndc=line.ndc,
            ndc_quantity=line.ndc_quantity, ndc_unit=line.ndc_unit,
        )
        for line in lines
    )  # fmt: skip


def _change(
    *,
    actor: User | None,
    claim: Claim,
    frequency: str,
    lines: list[Any],
    diagnoses: list[tuple[int, str]],
    note: str,
) -> Claim:
    rejected = (
        Claim.objects.select_for_update()
        .filter(replaces=claim, frequency_code=frequency, status=S.REJECTED)
        .first()
    )
    if rejected is not None:
        # The payer's front end refused the earlier one: it goes again, rebuilt, as the one
        # correction of this claim (the database keeps one per claim and kind).
        return _refill(actor, rejected, frequency=frequency, lines=lines, diagnoses=diagnoses,
                       note=f"Rebuilt after its rejection. {note}")  # fmt: skip
    try:
        with transaction.atomic():
            made = Claim.objects.create(
                encounter_id=claim.encounter_id,
                coverage_id=claim.coverage_id,
                payer_id=claim.payer_id,
                control_number=next_control_number(),
                frequency_code=frequency,
                replaces=claim,
                payer_claim_number=claim.payer_claim_number,
                status=S.DRAFT,
                total_charge_cents=sum(line.charge_cents for line in lines),
                created_by=actor,
            )
            _write_lines(made, frequency, lines)
            _copy_diagnoses(made, diagnoses)
            _created(made, actor, note)
    except IntegrityError:
        kind = "voided" if frequency == FrequencyCode.VOID else "replaced"
        raise Conflict(f"Claim {claim.control_number} has already been {kind}.") from None
    return made


@transaction.atomic
@binds_actor("actor")
def claim_void(*, actor: User | None, claim: Claim, reason: str) -> Claim:
    """A void claim (frequency 8) for a claim the payer has, naming its claim number; it copies
    the voided claim's lines and diagnoses (not the visit's current coding) and goes through
    the scrubber and a batch like any claim."""
    text = _clean_reason(reason, "voided")
    _check_changeable(claim, "voided")
    lines = list(ClaimLine.objects.filter(claim=claim).order_by("line_number"))
    diagnoses = list(
        ClaimDiagnosis.objects.filter(claim=claim).order_by("rank").values_list("rank", "code")
    )
    return _change(
        actor=actor, claim=claim, frequency=FrequencyCode.VOID, lines=lines, diagnoses=diagnoses,
        note=f"Voids claim {claim.control_number} (payer's {claim.payer_claim_number}): {text}",
    )  # fmt: skip


@transaction.atomic
@binds_actor("actor")
def claim_replace(*, actor: User | None, claim: Claim, reason: str) -> Claim:
    """A replacement claim (frequency 7) with the lines and diagnoses of the corrected (ready)
    encounter. The corrected visit's charges follow it to the claim's payer, as a build's do
    (finalized again after a coverage change, they may have posted to another payer or to the
    patient)."""
    text = _clean_reason(reason, "replaced")
    encounter = _check_changeable(claim, "replaced")
    if encounter.status != EncounterStatus.READY:
        raise InvalidTransition(
            f"Encounter {encounter.pk} is {encounter.get_status_display().lower()}: finalize "
            "the correction before sending the replacement."
        )
    lines = _lines_of(encounter)
    made = _change(
        actor=actor, claim=claim, frequency=FrequencyCode.REPLACEMENT, lines=lines,
        diagnoses=_diagnoses_of(encounter),
        note=f"Replaces claim {claim.control_number} (payer's {claim.payer_claim_number}): {text}",
    )  # fmt: skip
    _follow(actor, made, encounter)
    return made


PAYER_NUMBER = re.compile(r"[A-Za-z0-9-]{1,50}")
PAYER_NUMBER_WORDS = "1 to 50 letters, digits or dashes"


def payer_number_fits(number: str) -> bool:
    """Whether a payer's claim number can be kept and sent back (REF*F8 of a replacement or
    void: at most 50 characters, none an X12 delimiter). Numbers read from a payer's file are
    checked too: one over-long or holding a delimiter would stop every later batch."""
    return bool(PAYER_NUMBER.fullmatch(number))


@binds_actor("actor")
def claim_record_payer_number(*, actor: User | None, claim: Claim, number: str) -> Claim:
    """The payer's claim control number (from a 277CA, an 835 or the payer's portal), needed to
    void or replace: recorded by whoever submits claims, on the claim's history."""
    require_perm(actor, ClaimsPerm.SUBMIT)
    text = (number or "").strip()
    if not payer_number_fits(text):
        raise InvalidInput(f"Payer claim number: {PAYER_NUMBER_WORDS}.", field="payer_claim_number")
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if locked.status in (S.DRAFT, S.SCRUB_ERRORS, S.READY, S.VOID):
            raise InvalidTransition(
                f"Claim {locked.control_number} is {locked.get_status_display().lower()}: a "
                "payer claim number is recorded for a claim the payer has been sent."
            )
        before = locked.payer_claim_number
        if before != text:
            locked.payer_claim_number = text
            locked.save(update_fields=["payer_claim_number", "updated_at"])
            note_claims([locked], actor=actor, details=None, note=(
                f"Payer claim number recorded: {text}" + (f" (was {before})." if before else ".")
            ))  # fmt: skip
    claim.payer_claim_number = text  # the caller's instance goes on with it
    return claim


# --- Overriding warnings -------------------------------------------------------------------------


@binds_actor("actor")
def claim_override_warnings(*, actor: User, claim: Claim, reason: str) -> Claim:
    """Send a claim held only by scrubber warnings on to ready, with the reason on the claim
    and in its history. Errors cannot be overridden: they are fixed and the claim scrubbed."""
    require_perm(actor, ClaimsPerm.OVERRIDE_WARNINGS)
    text = _clean_reason(reason, "sent on past its warnings")
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim.pk)
        if claim.status != S.SCRUB_ERRORS:
            raise InvalidTransition(
                f"Claim {claim.control_number} is {claim.get_status_display().lower()}: only a "
                "claim the scrubber held has warnings to override."
            )
        findings = list(ScrubFinding.objects.filter(claim=claim))
        errors = [f for f in findings if f.severity == Severity.ERROR]
        if errors:
            raise InvalidTransition(
                f"Claim {claim.control_number} has {len(errors)} error(s) "
                f"({', '.join(sorted({f.code for f in errors}))}): errors are fixed, not "
                "overridden."
            )
        codes = sorted({f.code for f in findings})
        move_claims(
            [claim], to=S.READY, actor=actor, note=f"Warnings overridden: {text}",
            details={"overridden": codes},
            fields={"warnings_overridden_by": actor, "override_reason": text},
        )  # fmt: skip
    return claim


def correction_accepted(*, actor: User | None, claim: Claim) -> None:
    """The payer accepted `claim`: when it is a void, the claim it voids is void now; when a
    replacement, the claim it replaces says by which (the payer goes on with the new one)."""
    if claim.frequency_code == FrequencyCode.ORIGINAL or claim.replaces_id is None:
        return
    original = Claim.objects.get(pk=claim.replaces_id)
    if claim.frequency_code == FrequencyCode.VOID:
        move_claims_from(
            [original], allowed_from=(S.SUBMITTED, S.ACCEPTED, S.DENIED, S.PAID), to=S.VOID,
            actor=actor, note=f"Voided: the payer accepted void claim {claim.control_number}.",
        )  # fmt: skip
    else:
        note_claims([original], actor=actor, details=None, note=(
            f"Replaced by claim {claim.control_number}, which the payer accepted."
        ))  # fmt: skip
