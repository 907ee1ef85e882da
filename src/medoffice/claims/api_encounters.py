"""JSON API of encounters: /api/claims/encounters/... (the coding page's permissions).

Create (from an appointment or standalone), read, set the codes, mark coded, finalize and
reopen. Finalizing and reopening move money (they post the charges or their reversal): they
honour the Idempotency-Key header (docs/adr/0010), so a retry replays the first answer.
A clinician (claims.code_own) sees and codes their own visits only: another's is a 403.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictInt, StrictStr

from medoffice.claims import encounters as services
from medoffice.claims import selectors
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import MAX_DIAGNOSES, MAX_MODIFIERS, MAX_POINTERS, EncounterStatus
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.api_auth import requires, user_of
from medoffice.core.dates import Day
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.idempotency import honour_keys, idempotent
from medoffice.ledger.models import to_dollars

router = Router(tags=["encounters"])
router.add_decorator(honour_keys, mode="view")

CODING = (ClaimsPerm.CODE, ClaimsPerm.CODE_OWN)


class DiagnosisOut(Schema):
    rank: int
    code: str


class LineOut(Schema):
    line_number: int
    code: str
    modifiers: list[str]
    units: int
    charge: Decimal
    diagnosis_pointers: list[int]
    ndc: str
    ndc_quantity: Decimal | None
    ndc_unit: str


class EncounterOut(Schema):
    id: int
    status: str = Field(..., description=" | ".join(EncounterStatus.values))
    patient_id: int
    appointment_id: int | None
    location_id: int
    rendering_provider_id: int
    supervising_provider_id: int | None
    referring_provider_name: str
    referring_provider_npi: str
    date_of_service: date
    place_of_service: str
    prior_authorization: str
    coded_by: str | None
    coded_at: datetime | None
    finalized_by: str | None
    finalized_at: datetime | None
    charge_entry_id: int | None = Field(None, description="the journal entry of its charges")
    total_charge: Decimal
    diagnoses: list[DiagnosisOut]
    lines: list[LineOut]


class EncounterIn(Schema):
    appointment_id: int | None = Field(None, description="take the visit from the appointment")
    patient_id: int | None = None
    location_id: int | None = None
    rendering_provider_id: int | None = None
    supervising_provider_id: int | None = None
    date_of_service: Day | None = None
    place_of_service: str = Field("", max_length=2, description="the location's when empty")
    separate_visit: bool = Field(
        False,
        description="true when the patient saw the same provider again that day (another "
        "encounter for that patient, provider and day is refused with 409 otherwise)",
    )


class LineIn(Schema):
    code: str = Field(..., max_length=10)
    modifiers: list[str] = Field([], max_length=MAX_MODIFIERS + 4)
    units: StrictInt = Field(1, description="a whole number, at least 1")
    charge: StrictStr | StrictInt | None = Field(
        None, description='dollars and cents, e.g. "125.00"; null: the fee schedule times the units'
    )
    diagnosis_pointers: list[StrictInt] = Field([], max_length=MAX_POINTERS + 4)
    ndc: str = Field("", max_length=13, description="11 digits (5-4-2 hyphens allowed)")
    ndc_quantity: StrictStr | StrictInt | None = None
    ndc_unit: str = Field("", max_length=2, description=" | ".join(services.NDC_UNITS))


class CodesIn(Schema):
    diagnoses: list[str] = Field(
        ..., max_length=MAX_DIAGNOSES + 8, description="ICD-10-CM codes in claim order"
    )
    lines: list[LineIn] = Field(..., max_length=50)
    supervising_provider_id: int | None = None
    referring_provider_name: str = Field("", max_length=120)
    referring_provider_npi: str = Field("", max_length=10)
    prior_authorization: str = Field("", max_length=50)


class ReopenIn(Schema):
    reason: str = Field(..., min_length=1, max_length=150)


class EncounterFilters(Schema):
    status: str | None = Field(None, description=" | ".join(EncounterStatus.values))
    provider_id: int | None = None
    since: Day | None = None
    until: Day | None = None


def _who(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _out(encounter: Any) -> dict[str, Any]:
    lines = list(encounter.lines.order_by("line_number"))
    return {
        "id": encounter.pk,
        "status": encounter.status,
        "patient_id": encounter.patient_id,
        "appointment_id": encounter.appointment_id,
        "location_id": encounter.location_id,
        "rendering_provider_id": encounter.rendering_provider_id,
        "supervising_provider_id": encounter.supervising_provider_id,
        "referring_provider_name": encounter.referring_provider_name,
        "referring_provider_npi": encounter.referring_provider_npi,
        "date_of_service": encounter.date_of_service,
        "place_of_service": encounter.place_of_service,
        "prior_authorization": encounter.prior_authorization,
        "coded_by": _who(encounter.coded_by),
        "coded_at": encounter.coded_at,
        "finalized_by": _who(encounter.finalized_by),
        "finalized_at": encounter.finalized_at,
        "charge_entry_id": encounter.charge_entry_id,
        "total_charge": to_dollars(sum(line.charge_cents for line in lines)),
        "diagnoses": [{"rank": d.rank, "code": d.code} for d in encounter.diagnoses.all()],
        "lines": [
            {
                "line_number": line.line_number,
                "code": line.code,
                "modifiers": line.modifiers,
                "units": line.units,
                "charge": to_dollars(line.charge_cents),
                "diagnosis_pointers": line.diagnosis_pointers,
                "ndc": line.ndc,
                "ndc_quantity": line.ndc_quantity,
                "ndc_unit": line.ndc_unit,
            }
            for line in lines
        ],
    }


def _read(request: Any, encounter_id: int) -> dict[str, Any]:
    return _out(selectors.encounter_for_user(user_of(request), encounter_id))


def _one(model: Any, pk: int | None, field: str, words: str) -> Any:
    found = model.objects.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise InvalidInput(f"No {words} with id {pk}." if pk else f"Give the {words}.", field=field)
    return found


@router.get("/encounters", response=list[EncounterOut], summary="Encounters to code")
@requires(ClaimsPerm.VIEW, *CODING)
def encounter_list(request, filters: Query[EncounterFilters]):
    """Draft and coded encounters (or those of `status`) the caller may see, oldest first (at
    most 200): every one for a coder or viewer, a clinician's own visits."""
    statuses = (
        (filters.status,)
        if filters.status in EncounterStatus.values
        else (EncounterStatus.DRAFT, EncounterStatus.CODED)
    )
    rows = selectors.encounters_to_code(
        user_of(request), statuses=statuses, provider_id=filters.provider_id,
        since=filters.since, until=filters.until,
    )  # fmt: skip
    return [_read(request, row.pk) for row in rows]


@router.post("/encounters", response={201: EncounterOut}, summary="Open an encounter")
@requires(*CODING)
def encounter_create(request, payload: EncounterIn):
    """From an appointment (its visit: patient, provider, location, day; asking again returns
    the same encounter) or standalone (patient, location, rendering provider, date of
    service)."""
    from medoffice.core.models import Location, Provider
    from medoffice.patients.models import Patient
    from medoffice.scheduling.models import Appointment

    actor = user_of(request)
    if payload.appointment_id is not None:
        appointment = Appointment.objects.filter(pk=payload.appointment_id).first()
        if appointment is None:
            raise NotFound(f"No appointment with id {payload.appointment_id}.")
        made = services.encounter_from_appointment(actor=actor, appointment=appointment)
    else:
        if payload.date_of_service is None:
            raise InvalidInput("Give the date of service.", field="date_of_service")
        made = services.encounter_create(
            actor=actor,
            patient=_one(Patient, payload.patient_id, "patient_id", "patient"),
            location=_one(Location, payload.location_id, "location_id", "location"),
            rendering_provider=services.encounter_provider(
                payload.rendering_provider_id, field="rendering_provider_id", role="rendering"
            )
            or _one(Provider, None, "rendering_provider_id", "rendering provider"),
            date_of_service=payload.date_of_service,
            place_of_service=payload.place_of_service,
            supervising_provider=services.encounter_provider(
                payload.supervising_provider_id,
                field="supervising_provider_id",
                role="supervising",
            ),
            separate_visit=payload.separate_visit,
        )
    return Status(201, _read(request, made.pk))


@router.get("/encounters/{encounter_id}", response=EncounterOut, summary="One encounter")
@requires(ClaimsPerm.VIEW, *CODING)
def encounter_detail(request, encounter_id: int):
    return _read(request, encounter_id)


@router.put("/encounters/{encounter_id}/codes", response=EncounterOut,
            summary="Set the diagnoses and service lines")  # fmt: skip
@requires(*CODING)
def encounter_codes(request, encounter_id: int, payload: CodesIn):
    """Replaces the encounter's diagnoses and lines; errors name each position counted from 1
    (`diagnoses.3`, `lines.2.modifiers.1`), all at once, and nothing is written."""
    current = selectors.encounter_for_user(user_of(request), encounter_id)
    supervising = services.encounter_provider(
        payload.supervising_provider_id, field="supervising_provider_id", role="supervising",
        current_id=current.supervising_provider_id,
    )  # fmt: skip
    services.encounter_code(
        actor=user_of(request),
        encounter_id=encounter_id,
        diagnoses=payload.diagnoses,
        lines=[
            LineInput(
                code=line.code,
                modifiers=line.modifiers,
                units=line.units,
                charge=line.charge,
                pointers=line.diagnosis_pointers,
                ndc=line.ndc,
                ndc_quantity=line.ndc_quantity,
                ndc_unit=line.ndc_unit,
            )
            for line in payload.lines
        ],
        supervising_provider=supervising,
        referring_provider_name=payload.referring_provider_name,
        referring_provider_npi=payload.referring_provider_npi,
        prior_authorization=payload.prior_authorization,
    )
    return _read(request, encounter_id)


@router.post("/encounters/{encounter_id}/mark-coded", response=EncounterOut,
             summary="Mark an encounter coded")  # fmt: skip
@requires(*CODING)
def encounter_mark_coded(request, encounter_id: int):
    services.encounter_mark_coded(actor=user_of(request), encounter_id=encounter_id)
    return _read(request, encounter_id)


@router.post("/encounters/{encounter_id}/finalize", response=EncounterOut,
             summary="Finalize: post the charges (Idempotency-Key recommended)")  # fmt: skip
@requires(ClaimsPerm.CODE)
@idempotent
def encounter_finalize(request, encounter_id: int):
    """Coded to ready; the charges post to the books in the same transaction. Without the
    header a repeat is a 409 (already finalized); with it, the first answer again."""
    services.encounter_finalize(actor=user_of(request), encounter_id=encounter_id)
    return _read(request, encounter_id)


@router.post("/encounters/{encounter_id}/reopen", response=EncounterOut,
             summary="Reopen a finalized encounter: reverse its charges")  # fmt: skip
@requires(ClaimsPerm.CODE)
@idempotent
def encounter_reopen(request, encounter_id: int, payload: ReopenIn):
    services.encounter_reopen(
        actor=user_of(request), encounter_id=encounter_id, reason=payload.reason
    )
    return _read(request, encounter_id)
