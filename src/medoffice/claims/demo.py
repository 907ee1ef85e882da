"""Claims' part of the demo practice: coded encounters with their charges on the books, and
claims in every state.

Runs after the front desk's step: the completed visits of the last weeks become encounters
(the most recent still draft or coded, the rest finalized, their charges posted by the
encounter services in the same transaction). The finalized visits with a coverage get a claim,
and the claims are taken along the way a biller takes them: scrubbed, batched into 837P files,
submitted, acknowledged (accepted with the payer's claim number, or rejected with the reason),
paid or denied; one is voided and one replaced, and the last batch waits to be sent. Every
status change goes through the claim services, so each claim's history is complete.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

# (appointment type code) -> (main codes to pick from, extra lines ((codes), share of visits),
# diagnosis pool). Billable ICD-10-CM codes only (the tests check each). Preventive visits
# are a fifth of physicals: the practitioner MUE table allows them no units (Medicare does
# not pay them), so the scrubber holds each one, as it would in a practice.
FLU_SHOT = ("90686", "90471")
Visit = tuple[tuple[str, ...], tuple[tuple[tuple[str, ...], float], ...], tuple[str, ...]]
VISITS: dict[str, Visit] = {
    "new-patient": (("99203", "99204", "99202"), ((("36415",), 0.3),),
                    ("I10", "E11.9", "E78.5", "F41.1", "M54.50", "K21.9", "Z00.00")),
    "follow-up": (("99213", "99214", "99212", "99215"), ((("36415",), 0.25), (("81002",), 0.1)),
                  ("I10", "E11.9", "E78.5", "F41.1", "M54.50", "K21.9", "E03.9", "J45.909")),
    "annual-physical": (("99214", "99213", "99214", "99213", "PREVENTIVE"),
                        ((("36415",), 0.4), (FLU_SHOT, 0.2)),
                        ("Z00.00", "Z00.01", "I10", "E78.5", "Z23")),
    "sick-visit": (("99213", "99212", "99214"), ((("87880",), 0.4),),
                   ("J06.9", "J02.9", "R05.9", "J01.90", "H66.90", "R50.9")),
    "well-child": (("99213", "99213", "99212", "99213", "PEDIATRIC"), ((FLU_SHOT, 0.4),),
                   ("Z00.129", "Z23", "J06.9", "H66.90")),
    "procedure": (("11102", "17110"), ((("99213",), 0.3),), ("L82.1", "B07.8", "D48.5", "L98.9")),
    "ecg": (("93000",), ((("99214",), 0.6),), ("I10", "R00.2", "R07.9", "I48.91")),
}  # fmt: skip
# Codes an E/M billed with them needs modifier 25 for (NCCI pairs with indicator 1).
WITH_25 = frozenset({"11102", "17110", "90471", "96372"})
MODIFIER_25 = "25"  # an E/M the same day as a procedure
PRIOR_AUTH_CODES = ("11102",)  # Lakeshore asks for an authorization (coding's demo sets it)
PRIOR_AUTH_PAYER = "LKS01"
# The first visits of the span that fit are coded to show what an 837P carries beyond the
# common visit: a drug given in the office (dexamethasone, J1100 per 1 mg: 10 mg from a
# 10 mg/mL vial, its NDC in 5-4-2 form), a nurse practitioner's or physician assistant's
# visit under a physician's supervision, and a Lakeshore biopsy with its prior authorization.
OFFICE_VISITS = frozenset({"99202", "99203", "99204", "99212", "99213", "99214", "99215"})
DRUG_LINES = (("96372", 1, "", "", ""), ("J1100", 10, "63323-0165-01", "1", "ML"))
SUPERVISED_CREDENTIALS = ("NP", "PA-C")
SUPERVISING_CREDENTIALS = ("MD", "DO")
REJECT_REASONS = (
    "A3:21 The payer could not find the subscriber's member ID.",
    "A7:562 The rendering provider's NPI is not on file with the payer.",
)
# A diagnosis found on review of a paid visit (the first not already coded): the visit is
# recoded with it and a replacement claim sends the correction.
ADDED_ON_REVIEW = ("E78.5", "E55.9", "R73.03", "E66.9")
DENIAL_REASONS = (
    "CO-50: the payer considers the service not medically necessary.",
    "CO-29: the time limit for filing has expired.",
)


def _note(ctx: Any, text: str) -> None:
    ctx.shared.setdefault("notes", []).append(text)


def _completed(ctx: Any, weeks: int) -> list[Any]:
    """The completed visits of the last `weeks` weeks (before today), oldest first."""
    from datetime import datetime, time

    from medoffice.scheduling.availability import practice_zone
    from medoffice.scheduling.models import Appointment

    zone = practice_zone()
    first = datetime.combine(ctx.today - timedelta(weeks=weeks), time.min, tzinfo=zone)
    last = datetime.combine(ctx.today, time.min, tzinfo=zone)
    return list(
        Appointment.objects.filter(status="completed", start__gte=first, start__lt=last)
        .filter(encounter__isnull=True)
        .select_related("patient", "provider__user", "location", "appointment_type")
        .order_by("start", "pk")
    )


def _age(born: date | None, on: date) -> int:
    if born is None:
        return 40
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _preventive(code: str, age: int) -> str:
    if code == "PEDIATRIC":
        return "99392" if age < 5 else "99393"
    return "99395" if age < 40 else "99396" if age < 65 else "99397"


def _coding(rng: Any, appointment: Any, day: date, payer_id: str | None) -> tuple[list, list, str]:
    """The diagnoses, the lines (LineInput) and the prior authorization of one visit."""
    from medoffice.claims.encounters import LineInput

    kind = appointment.appointment_type.code if appointment.appointment_type else "follow-up"
    main_codes, extras, pool = VISITS.get(kind, VISITS["follow-up"])
    diagnoses = rng.sample(pool, k=min(len(pool), rng.choice((1, 1, 2, 2, 3, 4))))
    main = rng.choice(main_codes)
    if main in ("PREVENTIVE", "PEDIATRIC"):
        main = _preventive(main, _age(appointment.patient.date_of_birth, day))
    codes = [main] + [code for extra, share in extras if rng.random() < share for code in extra]
    codes = codes[:3]
    lines = []
    for code in codes:
        modifiers = [MODIFIER_25] if code.startswith("99") and WITH_25 & set(codes) else []
        count = rng.randint(1, min(2, len(diagnoses)))
        pointers = list(range(1, count + 1)) if code == main else [rng.randint(1, len(diagnoses))]
        lines.append(LineInput(code=code, modifiers=modifiers, pointers=pointers))
    prior = ""
    if payer_id == PRIOR_AUTH_PAYER and set(PRIOR_AUTH_CODES) & set(codes):
        prior = f"PA{rng.randint(1000000, 9999999)}"
    return diagnoses, lines, prior


def _showcase(
    shown: set[str],
    appointment: Any,
    day: date,
    payer_id: str,
    lines: list,
    prior: str,
    supervisors: list[Any],
) -> tuple[list, str, Any]:
    """(lines, prior authorization, supervising provider) of a visit coded to show one thing
    the 837P carries (each shown once), or the visit's own coding when it shows none."""
    from medoffice.claims.encounters import LineInput

    visit = lines[0]
    if visit.code not in OFFICE_VISITS:
        return lines, prior, None
    rendering = appointment.provider
    if "supervised" not in shown and rendering.credentials in SUPERVISED_CREDENTIALS:
        supervising = next((p for p in supervisors if p.pk != rendering.pk), None)
        if supervising is not None:
            shown.add("supervised")
            return lines, prior, supervising
    with_25 = LineInput(code=visit.code, modifiers=[MODIFIER_25], pointers=list(visit.pointers))
    if "authorized" not in shown and payer_id == PRIOR_AUTH_PAYER:
        shown.add("authorized")
        biopsy = LineInput(code=PRIOR_AUTH_CODES[0], pointers=[1])
        return [with_25, biopsy], f"PA{day:%y%m%d}{appointment.provider.npi[-4:]}", None
    if "drug" not in shown:
        shown.add("drug")
        drug = [
            LineInput(code=code, units=units, pointers=[1], ndc=ndc, ndc_quantity=quantity or None,
                      ndc_unit=unit)
            for code, units, ndc, quantity, unit in DRUG_LINES
        ]  # fmt: skip
        return [with_25, *drug], prior, None
    return lines, prior, None


def _primary_payers(patient_ids: set[int], first: date) -> dict[int, str]:
    """The payer id of each patient's primary coverage (in force at the start of the span)."""
    from django.db.models import Q

    from medoffice.patients.models import Coverage

    found: dict[int, str] = {}
    rows = (
        Coverage.objects.filter(patient_id__in=patient_ids, priority=1, is_active=True)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=first))
        .order_by("patient_id", "-effective_date", "-pk")
        .values_list("patient_id", "payer__payer_id")
    )
    for patient_id, payer_id in rows:
        found.setdefault(patient_id, payer_id)
    return found


# --- Encounters ----------------------------------------------------------------------------


def _encounters(ctx: Any, coder: Any) -> tuple[list[Any], list[Any]]:
    """Encounters of the recent completed visits; returns (ready, the prior-auth breakers)."""
    from medoffice.claims import encounters as services
    from medoffice.claims.encounters import LineInput
    from medoffice.core.access import has_perm
    from medoffice.core.models import Provider
    from medoffice.scheduling.availability import practice_zone

    rng = ctx.rng
    zone = practice_zone()
    weeks = ctx.count(small=2, large=8)
    visits = _completed(ctx, weeks)
    limit = ctx.count(small=70, large=4000)
    if len(visits) > limit:  # a few of each day's visits, the days in order
        picked = sorted(rng.sample(range(len(visits)), limit))
        visits = [visits[n] for n in picked]
    payers = _primary_payers({a.patient_id for a in visits}, ctx.today - timedelta(weeks=weeks))
    ready: list[Any] = []
    breakers: list[Any] = []
    breakers_wanted = 2
    shown: set[str] = set()
    supervisors = list(
        Provider.objects.filter(credentials__in=SUPERVISING_CREDENTIALS).order_by("pk")
    )
    for appointment in visits:
        day = appointment.start.astimezone(zone).date()
        born = appointment.patient.date_of_birth
        if born is not None and born > day:
            continue  # a visit booked before the patient's birth: no claim for it
        recent = (ctx.today - day).days <= 2
        user = appointment.provider.user
        clinician = user if user is not None and has_perm(user, "claims.code_own") else coder
        opener = clinician if recent else coder
        encounter = services.encounter_from_appointment(actor=opener, appointment=appointment)
        payer_id = payers.get(appointment.patient_id)
        diagnoses, lines, prior = _coding(rng, appointment, day, payer_id)
        # The first Lakeshore visits of the span: a biopsy billed without its authorization.
        breaks = not recent and payer_id == PRIOR_AUTH_PAYER and len(breakers) < breakers_wanted
        if breaks:  # a biopsy billed without the authorization Lakeshore asks for
            lines = [*lines[:2], LineInput(code=PRIOR_AUTH_CODES[0], pointers=[1])]
            lines = [
                LineInput(code=x.code, modifiers=[MODIFIER_25] if x.code.startswith("99")
                          else list(x.modifiers), pointers=list(x.pointers))
                for x in lines
            ]  # fmt: skip
            prior = ""
        supervising = None
        if not recent and not breaks and payer_id is not None:
            lines, prior, supervising = _showcase(
                shown, appointment, day, payer_id, lines, prior, supervisors
            )
        stage = rng.random()
        if recent and stage < 0.35:
            if stage < 0.15:
                continue  # opened, not coded yet
            services.encounter_code(actor=opener, encounter_id=encounter.pk, diagnoses=diagnoses,
                                    lines=lines, prior_authorization=prior)  # fmt: skip
            continue  # draft: the clinician's codes, not checked yet
        services.encounter_code(actor=opener, encounter_id=encounter.pk, diagnoses=diagnoses,
                                lines=lines, prior_authorization=prior,
                                supervising_provider=supervising)  # fmt: skip
        services.encounter_mark_coded(actor=opener, encounter_id=encounter.pk)
        if recent and stage < 0.7:
            continue  # coded, waiting for the coder to finalize
        finalized = services.encounter_finalize(actor=coder, encounter_id=encounter.pk)
        (breakers if breaks else ready).append(finalized)
    return ready, breakers


def _add_diagnosis(coder: Any, encounter_id: int) -> str:
    """Recode a finalized visit with one more diagnosis, through the encounter services:
    reopened (its charges reversed), the diagnosis added and pointed at by the first line
    that has room, coded and finalized again (its charges posted anew). Returns the code."""
    from decimal import Decimal

    from medoffice.claims import encounters as services
    from medoffice.claims.encounters import LineInput
    from medoffice.claims.models import MAX_DIAGNOSES, MAX_POINTERS, Encounter

    encounter = Encounter.objects.get(pk=encounter_id)
    codes = list(encounter.diagnoses.order_by("rank").values_list("code", flat=True))
    added = next(code for code in ADDED_ON_REVIEW if code not in codes)
    codes = [*codes[: MAX_DIAGNOSES - 1], added]
    lines = list(encounter.lines.order_by("line_number"))
    pointed = False
    typed = []
    for line in lines:
        pointers = list(line.diagnosis_pointers)
        if not pointed and len(pointers) < MAX_POINTERS:
            pointers.append(len(codes))
            pointed = True
        typed.append(LineInput(
            code=line.code, modifiers=list(line.modifiers), units=line.units,
            charge=Decimal(line.charge_cents) / 100, pointers=pointers, ndc=line.ndc,
            ndc_quantity=line.ndc_quantity, ndc_unit=line.ndc_unit,
        ))  # fmt: skip
    why = f"Diagnosis {added} was added after review."
    services.encounter_reopen(actor=coder, encounter_id=encounter.pk, reason=why)
    services.encounter_code(
        actor=coder, encounter_id=encounter.pk, diagnoses=codes, lines=typed,
        supervising_provider=encounter.supervising_provider,
        referring_provider_name=encounter.referring_provider_name,
        referring_provider_npi=encounter.referring_provider_npi,
        prior_authorization=encounter.prior_authorization,
    )  # fmt: skip
    services.encounter_mark_coded(actor=coder, encounter_id=encounter.pk)
    services.encounter_finalize(actor=coder, encounter_id=encounter.pk)
    return added


# --- Claims --------------------------------------------------------------------------------


def _build(coder: Any, encounters: list[Any]) -> list[Any]:
    from medoffice.claims import claims_services
    from medoffice.core.exceptions import InvalidInput

    claims = []
    for encounter in encounters:
        try:
            claims.append(claims_services.claim_build(actor=coder, encounter=encounter))
        except InvalidInput:
            continue  # self-pay: the charges are the patient's, no claim
    return claims


def _scrub(ctx: Any, coder: Any, claims: list[Any]) -> None:
    """Scrub; a claim held only by warnings goes on with the biller's reason."""
    from medoffice.claims import claims_services
    from medoffice.claims.models import Claim, ClaimStatus
    from medoffice.claims.scrubber import scrub_claims

    if not claims:
        return
    results = scrub_claims([c.pk for c in claims], actor=coder, today=ctx.today)
    held = [r.claim_id for r in results if r.status == ClaimStatus.SCRUB_ERRORS and not r.errors]
    for claim in Claim.objects.filter(pk__in=held).order_by("pk"):
        claims_services.claim_override_warnings(
            actor=coder, claim=claim, reason="Checked by the biller: not a duplicate."
        )


def _batch(ctx: Any, coder: Any, claim_ids: list[int]) -> Any:
    from medoffice.claims.batches import batch_build, practice_exchange

    if not claim_ids:
        return None
    return batch_build(
        actor=coder, exchange=practice_exchange(receiver_id="DEMOCLEARING"), claim_ids=claim_ids,
        today=ctx.today,
    )  # fmt: skip


def _ready(claim_ids: list[int]) -> list[int]:
    from medoffice.claims.models import Claim, ClaimStatus

    found = Claim.objects.filter(pk__in=claim_ids, status=ClaimStatus.READY)
    return sorted(found.values_list("pk", flat=True))


def _submit(coder: Any, batch: Any, when: Any) -> None:
    from medoffice.claims.claims_services import move_claims
    from medoffice.claims.models import Claim, ClaimStatus

    # Written an hour before it went (the portal upload the demo stands for).
    type(batch).objects.filter(pk=batch.pk).update(created_at=when - timedelta(hours=1),
                                                   submitted_at=when)  # fmt: skip
    batch.submitted_at = when
    claims = list(Claim.objects.filter(batch=batch).order_by("pk"))
    move_claims(claims, to=ClaimStatus.SUBMITTED, actor=coder,
                note=f"sent in {batch.file_name}", fields={"submitted_at": when})  # fmt: skip


def make_claims(ctx: Any) -> None:
    try:
        from medoffice.claims import claims_services, encounters  # noqa: F401
        from medoffice.claims.scrubber import scrub_claims  # noqa: F401
    except ImportError:  # pragma: no cover (an install without the encounter or claim services)
        _note(ctx, "The encounter and claim services are not installed: no claims in the demo.")
        return
    from django.utils import timezone

    from medoffice.claims.claims_services import (
        claim_record_payer_number,
        claim_replace,
        claim_void,
        move_claims,
    )
    from medoffice.claims.models import Claim, ClaimStatus

    rng = ctx.rng
    coder = ctx.user("biller")
    ready, breakers = _encounters(ctx, coder)
    claims = _build(coder, ready)
    held = _build(coder, breakers)
    if not claims:
        return
    # Oldest first: the older a visit, the further its claim has gone.
    claims.sort(key=lambda c: (c.encounter.date_of_service, c.pk))
    n = len(claims)
    fresh = claims[int(n * 0.8) :]  # the last fifth: draft, ready and the batch waiting
    sent = claims[: int(n * 0.8)]
    drafts = fresh[: max(1, len(fresh) // 4)]  # built, not scrubbed yet
    waiting = fresh[len(drafts) :]
    to_batch = waiting[len(waiting) // 2 :] or waiting[-1:]

    _scrub(ctx, coder, sent + waiting + held)
    sent_ready = _ready([c.pk for c in sent])
    batch = _batch(ctx, coder, sent_ready) if sent_ready else None
    if batch is not None:
        _submit(coder, batch, timezone.now() - timedelta(days=7))
        submitted = list(Claim.objects.filter(batch=batch).select_related("payer").order_by("pk"))
        rng.shuffle(submitted)
        cut = max(2, len(submitted) // 12)
        # The last `cut` stay submitted: still waiting for the payer's answer.
        rejected, answered = submitted[:cut], submitted[cut:-cut]
        for claim in rejected:
            move_claims([claim], to=ClaimStatus.REJECTED, actor=coder,
                        note=rng.choice(REJECT_REASONS))  # fmt: skip
        if rejected:  # one of them is not worth sending again: coverage was not the patient's
            move_claims([rejected[0]], to=ClaimStatus.VOID, actor=coder,
                        note="Voided: billed to a coverage the patient no longer has.")  # fmt: skip
        for claim in answered:
            number = f"{claim.payer.payer_id[:3]}{rng.randint(10**9, 10**10 - 1)}"
            claim_record_payer_number(actor=coder, claim=claim, number=number)
        move_claims(answered, to=ClaimStatus.ACCEPTED, actor=coder,
                    note="Accepted by the payer (277CA A2:20).")  # fmt: skip
        half = len(answered) // 2
        paid, denied = answered[:half], answered[half : half + max(1, len(answered) // 10)]
        move_claims(paid, to=ClaimStatus.PAID, actor=coder, note="Paid (remittance received).")
        for claim in denied:
            move_claims([claim], to=ClaimStatus.DENIED, actor=coder,
                        note=rng.choice(DENIAL_REASONS))  # fmt: skip
        changes = []
        if paid:
            why = "Billed under the wrong patient's visit."
            changes.append(claim_void(actor=coder, claim=paid[0], reason=why))
        if len(paid) > 1:  # recoded with a diagnosis found on review, then replaced
            added = _add_diagnosis(coder, paid[1].encounter_id)
            why = f"Diagnosis {added} was added after review."
            changes.append(claim_replace(actor=coder, claim=paid[1], reason=why))
        to_batch = to_batch + changes
        _scrub(ctx, coder, changes)
    ready_now = _ready([c.pk for c in to_batch])
    if ready_now:
        _batch(ctx, coder, ready_now)  # made, not sent yet
    _eligibility_files(ctx)
    counts: dict[str, int] = defaultdict(int)
    for status in Claim.objects.values_list("status", flat=True):
        counts[status] += 1
    missing = [s.label for s in ClaimStatus if not counts.get(s.value)]
    if missing:
        _note(ctx, f"Claims: no claim is {', '.join(missing).lower()} in this demo.")


def _eligibility_files(ctx: Any) -> None:
    """The desk's 270 files for a few coverages, written for the payers' portals (the demo
    has no clearinghouse): requests waiting for their 271."""
    from medoffice.claims.eligibility_requests import eligibility_file
    from medoffice.core.exceptions import InvalidInput
    from medoffice.patients.models import Coverage

    desk = ctx.user("front_desk")
    made = 0
    for coverage in (
        Coverage.objects.filter(is_active=True).exclude(payer__payer_id="").order_by("pk")[:10]
    ):
        try:
            eligibility_file(coverage, desk, idempotency_key=f"demo-270-{coverage.pk}")
        except InvalidInput:
            continue  # a coverage the 270 cannot be written for (said in words to the desk)
        made += 1
        if made == 3:
            break


def register() -> None:
    from medoffice.core.demo import register_demo_step

    register_demo_step("claims", make_claims, order=36)
