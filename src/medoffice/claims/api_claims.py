"""JSON API of claims: /api/claims/ (the list), /api/claims/{id}, ... (the pages' permissions).

Reads: the list (the worklist's filters, paged) and one claim with its lines, findings and
history. Writes: scrub; resubmit (a replacement, frequency 7) and void (frequency 8), which
take an Idempotency-Key (docs/adr/0010): a retry with the same key answers the first claim.
"""

from datetime import date, datetime

from ninja import Field, Query, Router, Schema, Status

from medoffice.claims import claims_services as services
from medoffice.claims import selectors_claims as selectors
from medoffice.claims.models import Claim
from medoffice.claims.permissions import ClaimsPerm
from medoffice.claims.scrubber import scrub_one
from medoffice.core.api_auth import requires, user_of
from medoffice.core.exceptions import NotFound
from medoffice.core.idempotency import honour_keys, idempotent
from medoffice.ledger.models import to_dollars

router = Router(tags=["claims"])
router.add_decorator(honour_keys, mode="view")

MAX_CLAIMS = 500


class FindingOut(Schema):
    code: str
    severity: str
    message: str
    line_number: int | None


class LineOut(Schema):
    line_number: int
    code: str
    modifiers: list[str]
    units: int
    charge: str = Field(..., description="dollars and cents")
    diagnosis_pointers: list[int]


class EventOut(Schema):
    at: datetime
    actor: str | None
    from_status: str
    to_status: str
    note: str


class ClaimOut(Schema):
    id: int
    control_number: str
    status: str
    frequency_code: str
    replaces_id: int | None
    payer_claim_number: str
    encounter_id: int
    patient_id: int
    payer_id: int
    payer: str
    rendering_provider_id: int
    date_of_service: date
    total_charge: str = Field(..., description="dollars and cents")
    scrubbed_at: datetime | None
    findings: list[FindingOut]


class ClaimDetailOut(ClaimOut):
    override_reason: str
    diagnoses: list[str] = Field(
        ..., description="ICD-10-CM codes as billed, in rank order (what the lines point at)"
    )
    lines: list[LineOut]
    history: list[EventOut]


class ClaimPage(Schema):
    count: int
    offset: int
    limit: int
    results: list[ClaimOut]


class ClaimFilters(Schema):
    status: str | None = Field(None, description="draft, scrub_errors, ready, submitted, ...")
    payer_id: int | None = None
    provider_id: int | None = Field(None, description="the rendering provider")
    min_age_days: int | None = Field(None, ge=0, le=36500, description="days since service")
    max_age_days: int | None = Field(None, ge=0, le=36500)
    min_amount_cents: int | None = Field(None, ge=0)
    max_amount_cents: int | None = Field(None, ge=0)
    sort: str = Field("-created", description=" | ".join(selectors.SORTS))
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(100, ge=1, le=MAX_CLAIMS)


class ReasonIn(Schema):
    reason: str = Field(..., max_length=300, description="why, in words (kept in the history)")


class ScrubOut(Schema):
    claim: ClaimOut
    errors: int
    warnings: int


def _claim_out(claim: Claim, findings: list | None = None) -> dict:
    encounter = claim.encounter
    return {
        "id": claim.pk, "control_number": claim.control_number, "status": claim.status,
        "frequency_code": claim.frequency_code, "replaces_id": claim.replaces_id,
        "payer_claim_number": claim.payer_claim_number, "encounter_id": claim.encounter_id,
        "patient_id": encounter.patient_id, "payer_id": claim.payer_id, "payer": claim.payer.name,
        "rendering_provider_id": encounter.rendering_provider_id,
        "date_of_service": encounter.date_of_service,
        "total_charge": str(to_dollars(claim.total_charge_cents)),
        "scrubbed_at": claim.scrubbed_at,
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message,
             "line_number": f.line_number}
            for f in (findings if findings is not None else claim.findings.all())
        ],
    }  # fmt: skip


def _get(claim_id: int) -> Claim:
    claim = Claim.objects.select_related("encounter", "payer").filter(pk=claim_id).first()
    if claim is None:
        raise NotFound(f"No claim {claim_id}.")
    return claim


def _detail_out(claim: Claim) -> dict:
    detail = selectors.claim_detail(claim)
    body = _claim_out(claim, detail.findings)
    body["override_reason"] = claim.override_reason
    body["diagnoses"] = [d.code for d in detail.diagnoses]
    body["lines"] = [
        {"line_number": line.line_number, "code": line.code, "modifiers": line.modifiers,
         "units": line.units, "charge": str(to_dollars(line.charge_cents)),
         "diagnosis_pointers": line.diagnosis_pointers}
        for line in detail.lines
    ]  # fmt: skip
    body["history"] = [
        {"at": e.at, "actor": e.actor.get_username() if e.actor else None,
         "from_status": e.from_status, "to_status": e.to_status, "note": e.note}
        for e in detail.events
    ]  # fmt: skip
    return body


@router.get("/", response=ClaimPage, summary="Claims, filtered like the worklist, paged")
@requires(ClaimsPerm.VIEW)
def claim_list(request, filters: Query[ClaimFilters]):
    from django.utils import timezone

    chosen = selectors.WorklistFilters(
        status=filters.status or "", payer_id=filters.payer_id, provider_id=filters.provider_id,
        min_age_days=filters.min_age_days, max_age_days=filters.max_age_days,
        min_amount_cents=filters.min_amount_cents, max_amount_cents=filters.max_amount_cents,
        sort=filters.sort,
    )  # fmt: skip
    found = selectors.claims_matching(chosen, today=timezone.localdate())
    page = list(
        found.select_related("encounter", "payer").prefetch_related("findings")[
            filters.offset : filters.offset + filters.limit
        ]
    )
    return {
        "count": found.count(),
        "offset": filters.offset,
        "limit": filters.limit,
        "results": [_claim_out(claim) for claim in page],
    }


@router.get("/{claim_id}", response=ClaimDetailOut, summary="One claim, with its history")
@requires(ClaimsPerm.VIEW)
def claim_read(request, claim_id: int):
    return _detail_out(_get(claim_id))


@router.post("/{claim_id}/scrub", response=ScrubOut, summary="Scrub one claim")
@requires(ClaimsPerm.SUBMIT)
def claim_scrub(request, claim_id: int):
    claim = _get(claim_id)
    result = scrub_one(actor=user_of(request), claim=claim)
    return {"claim": _claim_out(_get(claim_id)), "errors": result.errors,
            "warnings": result.warnings}  # fmt: skip


@router.post("/{claim_id}/resubmit", response={201: ClaimDetailOut},
             summary="A replacement claim (frequency 7) from the corrected encounter "
                     "(Idempotency-Key required)")  # fmt: skip
@requires(ClaimsPerm.SUBMIT)
@idempotent(required=True)
def claim_resubmit(request, claim_id: int, payload: ReasonIn):
    made = services.claim_replace(actor=user_of(request), claim=_get(claim_id),
                                  reason=payload.reason)  # fmt: skip
    return Status(201, _detail_out(_get(made.pk)))


@router.post("/{claim_id}/void", response={201: ClaimDetailOut},
             summary="A void claim (frequency 8) (Idempotency-Key required)")  # fmt: skip
@requires(ClaimsPerm.SUBMIT)
@idempotent(required=True)
def claim_void(request, claim_id: int, payload: ReasonIn):
    made = services.claim_void(actor=user_of(request), claim=_get(claim_id), reason=payload.reason)
    return Status(201, _detail_out(_get(made.pk)))
