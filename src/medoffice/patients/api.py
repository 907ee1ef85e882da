"""JSON API: /api/patients, /api/coverages, /api/payers (same permissions as the pages)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Query, Router, Schema, Status

from medoffice.core import audit
from medoffice.core.access import has_perm
from medoffice.core.api_auth import requires, user_of
from medoffice.core.idempotency import honour_keys, idempotent
from medoffice.core.money import ZERO, MoneyRange
from medoffice.patients import selectors, services
from medoffice.patients.exceptions import PossibleDuplicate
from medoffice.patients.models import Coverage, Payer
from medoffice.patients.permissions import PatientsPerm

patients_router = Router(tags=["patients"])
coverages_router = Router(tags=["coverages"])
payers_router = Router(tags=["payers"])
coverages_router.add_decorator(honour_keys, mode="view")  # copays: Idempotency-Key


# --- Schemas ------------------------------------------------------------------------------------


class PatientSummary(Schema):
    id: int
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    phone: str
    is_active: bool


class PatientOut(PatientSummary):
    middle_name: str
    suffix: str
    preferred_name: str
    phone_type: str
    email: str
    contact_by_sms: bool
    contact_by_email: bool
    preferred_language: str
    interpreter_needed: bool
    address_line1: str
    address_line2: str
    city: str
    state: str
    zip_code: str
    emergency_contact_name: str
    emergency_contact_relationship: str
    emergency_contact_phone: str
    guarantor_relationship: str
    guarantor_patient_id: int | None
    guarantor_first_name: str
    guarantor_last_name: str
    guarantor_date_of_birth: date | None
    guarantor_phone: str
    guarantor_address: str
    merged_into_id: int | None
    created_at: datetime


class PatientPatch(Schema):
    first_name: str | None = Field(None, max_length=60)
    middle_name: str | None = Field(None, max_length=60)
    last_name: str | None = Field(None, max_length=60)
    suffix: str | None = Field(None, max_length=10)
    preferred_name: str | None = Field(None, max_length=60)
    date_of_birth: date | None = None
    sex: str | None = None
    phone: str | None = None
    phone_type: str | None = None
    email: str | None = None
    contact_by_sms: bool | None = None
    contact_by_email: bool | None = None
    preferred_language: str | None = None
    interpreter_needed: bool | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_relationship: str | None = None
    emergency_contact_phone: str | None = None
    guarantor_relationship: str | None = None
    guarantor_patient: int | None = Field(None, description="id of the patient who is guarantor")
    guarantor_first_name: str | None = None
    guarantor_last_name: str | None = None
    guarantor_date_of_birth: date | None = None
    guarantor_phone: str | None = None
    guarantor_address: str | None = None
    notes: str | None = None


class PatientIn(PatientPatch):
    first_name: str = Field(..., max_length=60)
    last_name: str = Field(..., max_length=60)
    date_of_birth: date
    sex: str = Field(..., description="F, M, X or U")
    confirm_not_duplicate: bool = Field(
        False, description="register even though possible duplicates were reported (409)"
    )


class DuplicateOut(Schema):
    patient: PatientSummary
    reasons: list[str]


class DuplicateResponse(Schema):
    detail: str
    code: str
    candidates: list[DuplicateOut]


class MergeIn(Schema):
    survivor_id: int
    duplicate_id: int
    reason: str = ""


class PayerOut(Schema):
    id: int
    name: str
    payer_id: str
    plan_type: str
    timely_filing_days: int
    requires_referral: bool
    phone: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    zip_code: str
    is_active: bool


class PayerPatch(Schema):
    name: str | None = Field(None, max_length=120)
    payer_id: str | None = Field(None, max_length=20)
    plan_type: str | None = None
    timely_filing_days: int | None = None
    requires_referral: bool | None = None
    phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    is_active: bool | None = None


class PayerIn(PayerPatch):
    name: str = Field(..., max_length=120)
    plan_type: str


class EligibilityOut(Schema):
    id: int
    checked_at: datetime
    service_date: date
    method: str
    status: str
    reference: str
    note: str


def _sees_money(context) -> bool:
    request = (context or {}).get("request")
    return request is not None and has_perm(user_of(request), PatientsPerm.VIEW_MONEY)


class CoverageOut(Schema):
    id: int
    patient_id: int
    payer: PayerOut
    plan_name: str
    member_id: str
    group_number: str
    subscriber_relationship: str
    subscriber_first_name: str
    subscriber_last_name: str
    subscriber_date_of_birth: date | None
    effective_date: date
    end_date: date | None
    priority: int
    copay: Decimal | None = Field(None, description="null for a role that does not see money")
    specialist_copay: Decimal | None = Field(
        None, description="null for a role that does not see money"
    )
    is_active: bool
    latest_eligibility: EligibilityOut | None = None

    @staticmethod
    def resolve_copay(obj, context):
        return obj.copay if _sees_money(context) else None

    @staticmethod
    def resolve_specialist_copay(obj, context):
        return obj.specialist_copay if _sees_money(context) else None

    @staticmethod
    def resolve_latest_eligibility(obj):
        return selectors.latest_eligibility(obj)


Copay = Annotated[Decimal, MoneyRange(minimum=ZERO, description='0 or more, e.g. "25.00"')]


class CoveragePatch(Schema):
    payer_id: int | None = None
    plan_name: str | None = None
    member_id: str | None = Field(None, max_length=40)
    group_number: str | None = Field(None, max_length=40)
    subscriber_relationship: str | None = None
    subscriber_first_name: str | None = None
    subscriber_last_name: str | None = None
    subscriber_date_of_birth: date | None = None
    subscriber_sex: str | None = None
    effective_date: date | None = None
    end_date: date | None = None
    priority: int | None = None
    copay: Copay | None = None
    specialist_copay: Copay | None = None


class CoverageIn(CoveragePatch):
    patient_id: int
    payer_id: int
    member_id: str = Field(..., max_length=40)
    effective_date: date
    priority: int = 1
    replace_existing: bool = Field(
        False, description="end an older coverage at the same priority the day before this starts"
    )


class CoverageEndIn(Schema):
    end_date: date


class EligibilityIn(Schema):
    status: str = Field(..., description="active, inactive or unknown")
    service_date: date | None = None
    reference: str = ""
    copay_reported: Copay | None = None
    note: str = ""


def _fields(payload: Schema, *, rename: dict | None = None, drop: tuple = ()) -> dict:
    values = payload.model_dump(exclude_unset=True)
    for old, new in (rename or {}).items():
        if old in values:
            values[new] = values.pop(old)
    for name in drop:
        values.pop(name, None)
    return values


# --- Patients ------------------------------------------------------------------------------------


class PatientSearch(Schema):
    q: str = Field("", description="name ('smi', 'smith, jo'), birth date, phone or MRN")
    include_inactive: bool = False
    limit: int = Field(25, ge=1, le=100)


@patients_router.get("", response=list[PatientSummary], summary="Search patients")
@requires(PatientsPerm.VIEW_PATIENTS)
def patient_search(request, filters: Query[PatientSearch]):
    found = list(
        selectors.search_patients(
            filters.q, limit=filters.limit, include_inactive=filters.include_inactive
        )
    )
    audit.record_list(
        "patients.patient", patient_ids=[p.pk for p in found], description="patient search",
        filters={"q": filters.q, "inactive": filters.include_inactive or ""},
    )  # fmt: skip
    return found


@patients_router.post(
    "", response={201: PatientOut, 409: DuplicateResponse}, summary="Register a patient"
)
@requires(PatientsPerm.EDIT_PATIENTS)
def patient_create(request, payload: PatientIn):
    fields = _fields(payload, drop=("confirm_not_duplicate",))
    try:
        patient = services.patient_register(
            actor=user_of(request), confirm_not_duplicate=payload.confirm_not_duplicate, **fields
        )
    except PossibleDuplicate as exc:
        return Status(
            409,
            {
                "detail": exc.message,
                "code": exc.code,
                "candidates": [
                    {"patient": c.patient, "reasons": list(c.reasons)} for c in exc.candidates
                ],
            },
        )
    return Status(201, patient)


@patients_router.get(
    "/{int:patient_id}", response=PatientOut,
    summary="Read a patient (audited; by role or an emergency grant)",
)  # fmt: skip
def patient_read(request, patient_id: int):
    return selectors.patient_for_user(user_of(request), patient_id)


@patients_router.patch("/{int:patient_id}", response=PatientOut, summary="Change a patient")
@requires(PatientsPerm.EDIT_PATIENTS)
def patient_update(request, patient_id: int, payload: PatientPatch):
    patient = selectors.patient_for_user(user_of(request), patient_id)
    return services.patient_update(actor=user_of(request), patient=patient, **_fields(payload))


@patients_router.post("/merge", response=dict, summary="Merge a duplicate into a survivor")
@requires(PatientsPerm.MERGE_PATIENTS)
def patient_merge(request, payload: MergeIn):
    user = user_of(request)
    survivor = selectors.patient_for_user(user, payload.survivor_id)
    duplicate = selectors.patient_for_user(user, payload.duplicate_id)
    return services.patient_merge(
        actor=user, survivor=survivor, duplicate=duplicate, reason=payload.reason
    )


# --- Coverages ----------------------------------------------------------------------------------


def _coverage_for(user, coverage_id: int) -> Coverage:
    return selectors.coverage_for_user(user, coverage_id)


@coverages_router.get("", response=list[CoverageOut], summary="A patient's coverages")
@requires(PatientsPerm.VIEW_PATIENTS)
def coverage_list(request, patient_id: int, in_force_on: date | None = None):
    patient = selectors.patient_for_user(user_of(request), patient_id)
    if in_force_on is not None:
        return list(selectors.coverages_in_force(patient, in_force_on))
    return list(selectors.coverages_of(patient))


@coverages_router.post("", response={201: CoverageOut}, summary="Add a coverage")
@requires(PatientsPerm.EDIT_PATIENTS)
@idempotent
def coverage_create(request, payload: CoverageIn):
    user = user_of(request)
    patient = selectors.patient_for_user(user, payload.patient_id)
    fields = _fields(payload, rename={"payer_id": "payer"}, drop=("patient_id", "replace_existing"))
    coverage = services.coverage_add(
        actor=user, patient=patient, replace_existing=payload.replace_existing, **fields
    )
    return Status(201, coverage)


@coverages_router.get("/{int:coverage_id}", response=CoverageOut, summary="Read a coverage")
@requires(PatientsPerm.VIEW_PATIENTS)
def coverage_read(request, coverage_id: int):
    return _coverage_for(user_of(request), coverage_id)


@coverages_router.patch("/{int:coverage_id}", response=CoverageOut, summary="Change a coverage")
@requires(PatientsPerm.EDIT_PATIENTS)
@idempotent
def coverage_update(request, coverage_id: int, payload: CoveragePatch):
    user = user_of(request)
    coverage = _coverage_for(user, coverage_id)
    fields = _fields(payload, rename={"payer_id": "payer"})
    return services.coverage_update(actor=user, coverage=coverage, **fields)


@coverages_router.post("/{int:coverage_id}/end", response=CoverageOut, summary="End a coverage")
@requires(PatientsPerm.EDIT_PATIENTS)
def coverage_end(request, coverage_id: int, payload: CoverageEndIn):
    user = user_of(request)
    coverage = _coverage_for(user, coverage_id)
    return services.coverage_end(actor=user, coverage=coverage, end_date=payload.end_date)


@coverages_router.post(
    "/{int:coverage_id}/eligibility",
    response={201: EligibilityOut},
    summary="Record a manual eligibility check",
)
@requires(PatientsPerm.EDIT_PATIENTS)
@idempotent
def coverage_eligibility(request, coverage_id: int, payload: EligibilityIn):
    user = user_of(request)
    coverage = _coverage_for(user, coverage_id)
    check = services.eligibility_record(
        coverage=coverage, checked_by=user, **payload.model_dump(exclude_unset=True)
    )
    return Status(201, check)


# --- Payers ------------------------------------------------------------------------------------


@payers_router.get("", response=list[PayerOut], summary="The payers directory")
@requires(PatientsPerm.VIEW_PATIENTS, PatientsPerm.MANAGE_PAYERS)
def payer_list(request, q: str = "", active_only: bool = False):
    return list(selectors.payers(active_only=active_only, query=q))


@payers_router.get("/{int:payer_id}", response=PayerOut, summary="Read a payer")
@requires(PatientsPerm.VIEW_PATIENTS, PatientsPerm.MANAGE_PAYERS)
def payer_read(request, payer_id: int):
    return _payer(payer_id)


@payers_router.post("", response={201: PayerOut}, summary="Add a payer")
@requires(PatientsPerm.MANAGE_PAYERS)
def payer_create(request, payload: PayerIn):
    return Status(201, services.payer_save(actor=user_of(request), **_fields(payload)))


@payers_router.patch("/{int:payer_id}", response=PayerOut, summary="Change a payer")
@requires(PatientsPerm.MANAGE_PAYERS)
def payer_update(request, payer_id: int, payload: PayerPatch):
    return services.payer_save(actor=user_of(request), payer=_payer(payer_id), **_fields(payload))


def _payer(payer_id: int) -> Payer:
    payer = Payer.objects.filter(pk=payer_id).first()
    if payer is None:
        from medoffice.core.exceptions import NotFound

        raise NotFound(f"No payer with id {payer_id}.")
    return payer


routers = [
    ("patients", patients_router),
    ("coverages", coverages_router),
    ("payers", payers_router),
]
