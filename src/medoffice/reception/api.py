"""JSON API of the front desk: /api/reception/... (same permissions as the pages)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from medoffice.core import audit
from medoffice.core.access import get_for_user
from medoffice.core.api_auth import requires, user_of
from medoffice.core.dates import Day
from medoffice.core.exceptions import InvalidInput
from medoffice.core.idempotency import honour_keys, idempotent
from medoffice.core.models import AuditAction, Location
from medoffice.core.money import MoneyRange
from medoffice.patients.permissions import PatientsPerm
from medoffice.reception import selectors, services
from medoffice.reception.documents import receipt_pdf
from medoffice.reception.models import Payment, Refund, Visit
from medoffice.reception.payments import MAX_PAYMENT, PaymentInput
from medoffice.reception.permissions import ReceptionPerm
from medoffice.scheduling.permissions import SchedulingPerm

router = Router(tags=["reception"])
router.add_decorator(honour_keys, mode="view")


# --- Schemas ------------------------------------------------------------------------------


DeskAmount = Annotated[
    Decimal, MoneyRange(maximum=MAX_PAYMENT, description='dollars and cents, e.g. "25.00"')
]


class PaymentIn(Schema):
    amount: DeskAmount
    method: str = Field(..., description="cash | check | card")
    reference: str = Field("", max_length=40, description="check number or card authorization")
    note: str = Field("", max_length=200)


class EligibilityIn(Schema):
    coverage_id: int
    status: str = Field(..., description="active | inactive | unknown")
    reference: str = Field("", max_length=60)
    note: str = ""


class CheckInIn(Schema):
    demographics_confirmed: bool
    coverage_confirmed: bool = False
    eligibility: list[EligibilityIn] = []
    forms_signed: list[int] = Field([], description="ids of the form types signed today")
    copay: PaymentIn | None = None
    notes: str = Field("", max_length=300)


class AdvanceIn(Schema):
    stage: str = Field(..., description="roomed | with_provider | checked_out")
    room_id: int | None = None


class PatientPaymentIn(PaymentIn):
    patient_id: int
    visit_id: int | None = None
    location_id: int | None = None


class PaymentOut(Schema):
    id: int
    receipt_number: str
    patient_id: int
    visit_id: int | None
    amount: Decimal
    method: str
    reference: str
    note: str
    received_at: datetime
    received_by: str
    location_id: int | None
    receipt_pdf: str
    void: bool
    voided_at: datetime | None
    void_reason: str

    @staticmethod
    def resolve_void(obj: Payment) -> bool:
        return obj.is_void

    @staticmethod
    def resolve_received_by(obj: Payment) -> str:
        return obj.received_by.get_username()

    @staticmethod
    def resolve_receipt_pdf(obj: Payment) -> str:
        return f"/api/reception/payments/{obj.pk}/receipt.pdf"


class VisitOut(Schema):
    id: int
    appointment_id: int
    patient_id: int
    stage: str
    arrived_at: datetime | None
    roomed_at: datetime | None
    with_provider_at: datetime | None
    checked_out_at: datetime | None
    room_id: int | None
    demographics_confirmed: bool
    coverage_confirmed: bool
    coverage_id: int | None
    eligibility_check_id: int | None


class CheckInOut(Schema):
    visit: VisitOut
    payment: PaymentOut | None
    signed_form_ids: list[int]
    eligibility_check_ids: list[int]


class FlowRowOut(Schema):
    appointment_id: int
    visit_id: int | None
    patient_id: int
    patient_name: str
    mrn: str
    provider: str
    appointment_type: str
    location_id: int
    start: datetime
    stage: str
    stage_since: datetime | None
    minutes_in_stage: int | None
    minutes_since_arrival: int | None
    minutes_late: int | None
    arrived_at: datetime | None
    roomed_at: datetime | None
    with_provider_at: datetime | None
    checked_out_at: datetime | None
    room: str | None


class FlowBoardOut(Schema):
    date: date
    location_id: int | None
    now: datetime
    waiting: int
    checked_in: int
    rows: list[FlowRowOut]


class PrepItemOut(Schema):
    kind: str
    message: str
    severity: str


class PrepRowOut(Schema):
    appointment_id: int
    patient_id: int
    patient_name: str
    start: datetime
    provider: str
    appointment_type: str
    balance: Decimal
    ready: bool
    items: list[PrepItemOut]


class BalanceOut(Schema):
    patient_id: int
    balance: Decimal


class VoidIn(Schema):
    reason: str = Field(..., max_length=200, description="why the payment is voided")


class RefundIn(Schema):
    patient_id: int
    amount: DeskAmount
    method: str = Field(..., description="cash | check | card")
    reason: str = Field(..., max_length=200)
    location_id: int | None = Field(None, description="the drawer that pays cash back")


class RefundPayIn(Schema):
    reference: str = Field(
        "", max_length=40, description="the check number, or the card refund's reference"
    )
    method: str = Field(
        "", max_length=8, description="cash, check or card when paid otherwise than asked"
    )


class RefundOut(Schema):
    id: int
    number: str
    patient_id: int
    amount: Decimal
    method: str
    reason: str
    status: str
    location_id: int | None
    requested_at: datetime
    approval_id: int | None
    reference: str
    paid_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_reason: str
    receipt_pdf: str

    @staticmethod
    def resolve_receipt_pdf(obj: Refund) -> str:
        return f"/reception/refunds/{obj.pk}/receipt.pdf"


class ActivityOut(Schema):
    date: date
    memo: str
    source: str
    amount: Decimal


class AccountOut(Schema):
    patient_id: int
    balance: Decimal
    balance_text: str
    refundable: Decimal
    activity: list[ActivityOut]


# --- Helpers ------------------------------------------------------------------------------


def _payment_input(data: PaymentIn) -> PaymentInput:
    return PaymentInput(
        amount=data.amount, method=data.method, reference=data.reference, note=data.note
    )


def _location(location_id: int | None) -> Location | None:
    if location_id is None:
        return None
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        raise InvalidInput(f"No location with id {location_id}.", field="location")
    return location


def _flow_row(row: selectors.FlowRow) -> dict:
    appointment, visit = row.appointment, row.visit
    patient = appointment.patient
    return {
        "appointment_id": appointment.pk,
        "visit_id": visit.pk if visit is not None and visit.pk else None,
        "patient_id": patient.pk,
        "patient_name": patient.full_name,
        "mrn": patient.mrn,
        "provider": str(appointment.provider),
        "appointment_type": appointment.appointment_type.name,
        "location_id": appointment.location_id,
        "start": appointment.start,
        "stage": row.stage,
        "stage_since": row.stage_since,
        "minutes_in_stage": row.minutes_in_stage,
        "minutes_since_arrival": row.minutes_since_arrival,
        "minutes_late": row.minutes_late,
        "arrived_at": visit.arrived_at if visit else None,
        "roomed_at": visit.roomed_at if visit else None,
        "with_provider_at": visit.with_provider_at if visit else None,
        "checked_out_at": visit.checked_out_at if visit else None,
        "room": visit.room.name if visit and visit.room is not None else None,
    }


# --- Endpoints ----------------------------------------------------------------------------


@router.post("/appointments/{appointment_id}/check-in", response=CheckInOut)
@requires(SchedulingPerm.CHECK_IN)
@idempotent
def check_in(request, appointment_id: int, payload: CheckInIn):
    result = services.check_in(
        appointment_id=appointment_id,
        checked_in_by=user_of(request),
        demographics_confirmed=payload.demographics_confirmed,
        coverage_confirmed=payload.coverage_confirmed,
        eligibility=[
            services.EligibilityInput(
                coverage_id=e.coverage_id, status=e.status, reference=e.reference, note=e.note
            )
            for e in payload.eligibility
        ],
        forms_signed=payload.forms_signed,
        copay=_payment_input(payload.copay) if payload.copay is not None else None,
        notes=payload.notes,
    )
    return {
        "visit": result.visit,
        "payment": result.payment,
        "signed_form_ids": [s.pk for s in result.signed_forms],
        "eligibility_check_ids": [c.pk for c in result.eligibility_checks],
    }


class BoardQuery(Schema):
    day: Day | None = Field(None, alias="date", description="YYYY-MM-DD; today if empty")
    location: int | None = None


class PrepQuery(BoardQuery):
    stale_days: int = Field(selectors.ELIGIBILITY_STALE_DAYS, ge=1, le=365)


@router.get("/flow-board", response=FlowBoardOut)
@requires(ReceptionPerm.VIEW_FLOW_BOARD)
def flow_board(request, query: Query[BoardQuery]):
    day = query.day or selectors.local_today()
    location = query.location
    board = selectors.flow_board(day=day, location=_location(location), viewer=user_of(request))
    audit.record_list(
        "reception.flowboard", patient_ids=[r.appointment.patient_id for r in board.rows],
        description=f"flow board {day.isoformat()}",
        filters={"date": day.isoformat(), "location": location or ""},
    )  # fmt: skip
    return {
        "date": day,
        "location_id": location,
        "now": board.now,
        "waiting": board.waiting,
        "checked_in": board.arrived_count,
        "rows": [_flow_row(row) for row in board.rows],
    }


@router.post("/appointments/{appointment_id}/advance", response=VisitOut)
@requires(SchedulingPerm.CHECK_IN, ReceptionPerm.MOVE_FLOW)
def advance(request, appointment_id: int, payload: AdvanceIn):
    return services.flow_advance(
        appointment_id=appointment_id,
        to_stage=payload.stage,
        actor=user_of(request),
        room_id=payload.room_id,
    )


@router.post("/appointments/{appointment_id}/check-out", response=VisitOut)
@requires(SchedulingPerm.CHECK_IN)
def check_out(request, appointment_id: int):
    return services.check_out(appointment_id=appointment_id, checked_out_by=user_of(request))


@router.post("/payments", response={201: PaymentOut})
@requires(ReceptionPerm.COLLECT_PAYMENTS)
@idempotent
def record_payment(request, payload: PatientPaymentIn):
    from medoffice.patients.models import Patient

    user = user_of(request)
    patient = get_for_user(Patient, user, PatientsPerm.VIEW_PATIENTS, pk=payload.patient_id)
    visit = None
    if payload.visit_id is not None:
        visit = (
            Visit.objects.select_related("appointment__location")
            .filter(pk=payload.visit_id)
            .first()
        )
        if visit is None:
            raise InvalidInput(f"No visit with id {payload.visit_id}.", field="visit_id")
    payment = services.payment_record(
        patient=patient,
        payment=_payment_input(payload),
        received_by=user,
        visit=visit,
        location=_location(payload.location_id),
    )
    return Status(201, payment)


@router.get("/payments/{payment_id}", response=PaymentOut)
@requires(ReceptionPerm.COLLECT_PAYMENTS)
def payment_detail(request, payment_id: int):
    return get_for_user(
        selectors.payment_with_details(payment_id),
        user_of(request),
        ReceptionPerm.COLLECT_PAYMENTS,
        pk=payment_id,
        record_view=True,
    )


@router.get("/payments/{payment_id}/receipt.pdf")
@requires(ReceptionPerm.COLLECT_PAYMENTS)
def payment_receipt(request, payment_id: int):
    payment = get_for_user(
        selectors.payment_with_details(payment_id),
        user_of(request),
        ReceptionPerm.COLLECT_PAYMENTS,
        pk=payment_id,
    )
    content = receipt_pdf(payment, balance=selectors.patient_balance(payment.patient))
    audit.record(AuditAction.DOWNLOAD, obj=payment, reason="receipt PDF")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt_number}.pdf"'
    return response


@router.get("/patients/{patient_id}/balance", response=BalanceOut)
@requires(ReceptionPerm.COLLECT_PAYMENTS, SchedulingPerm.CHECK_IN)
def balance(request, patient_id: int):
    from medoffice.patients.models import Patient

    patient = get_for_user(
        Patient, user_of(request), PatientsPerm.VIEW_PATIENTS, pk=patient_id, record_view=True
    )
    return {"patient_id": patient.pk, "balance": selectors.patient_balance(patient)}


@router.post("/payments/{payment_id}/void", response=PaymentOut)
@requires(ReceptionPerm.COLLECT_PAYMENTS)
@idempotent
def void_payment(request, payment_id: int, payload: VoidIn):
    user = user_of(request)
    get_for_user(
        selectors.payment_with_details(payment_id),
        user,
        ReceptionPerm.COLLECT_PAYMENTS,
        pk=payment_id,
    )
    services.payment_void(payment_id=payment_id, voided_by=user, reason=payload.reason)
    return selectors.payment_with_details(payment_id).get()


def _refund(refund_id: int, user, *, record_view: bool = False) -> Refund:
    return get_for_user(
        selectors.refund_with_details(refund_id),
        user,
        ReceptionPerm.COLLECT_PAYMENTS,
        pk=refund_id,
        record_view=record_view,
    )


@router.post("/refunds", response={201: RefundOut})
@requires(ReceptionPerm.COLLECT_PAYMENTS)
@idempotent
def request_refund(request, payload: RefundIn):
    from medoffice.patients.models import Patient

    user = user_of(request)
    patient = get_for_user(Patient, user, PatientsPerm.VIEW_PATIENTS, pk=payload.patient_id)
    refund = services.refund_request(
        patient=patient,
        amount=payload.amount,
        method=payload.method,
        reason=payload.reason,
        requested_by=user,
        location=_location(payload.location_id),
    )
    return Status(201, refund)


@router.get("/refunds/{refund_id}", response=RefundOut)
@requires(ReceptionPerm.COLLECT_PAYMENTS)
def refund_detail(request, refund_id: int):
    return _refund(refund_id, user_of(request), record_view=True)


@router.post("/refunds/{refund_id}/pay", response=RefundOut)
@requires(ReceptionPerm.COLLECT_PAYMENTS)
@idempotent
def pay_refund(request, refund_id: int, payload: RefundPayIn):
    user = user_of(request)
    _refund(refund_id, user)
    return services.refund_pay(
        refund_id=refund_id, paid_by=user, reference=payload.reference, method=payload.method
    )


class RefundWithdrawIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200, description="why it is withdrawn")


@router.post("/refunds/{refund_id}/withdraw", response=RefundOut,
             summary="Withdraw an approved refund before it is paid out")  # fmt: skip
@requires(ReceptionPerm.COLLECT_PAYMENTS)
@idempotent
def withdraw_refund(request, refund_id: int, payload: RefundWithdrawIn):
    """Its approval entry is reversed: the amount is the patient's credit again."""
    user = user_of(request)
    _refund(refund_id, user)
    return services.refund_withdraw(refund_id=refund_id, withdrawn_by=user, reason=payload.reason)


@router.get("/patients/{patient_id}/account", response=AccountOut)
@requires(ReceptionPerm.COLLECT_PAYMENTS)
def account(request, patient_id: int):
    """The patient's account in the books: the balance and its lines, newest first."""
    from medoffice.patients.models import Patient

    patient = get_for_user(
        Patient, user_of(request), PatientsPerm.VIEW_PATIENTS, pk=patient_id, record_view=True
    )
    balance = selectors.patient_balance(patient)
    return {
        "patient_id": patient.pk,
        "balance": balance,
        "balance_text": selectors.balance_text(balance),
        "refundable": selectors.refundable_credit(patient.pk),
        "activity": [
            {"date": a.date, "memo": a.memo, "source": a.source_key, "amount": a.amount}
            for a in selectors.account_activity(patient)
        ],
    }


@router.get("/chart-prep", response=list[PrepRowOut])
@requires(SchedulingPerm.CHECK_IN)
def chart_prep(request, query: Query[PrepQuery]):
    day = query.day or selectors.local_today() + timedelta(days=1)
    rows = selectors.chart_prep(
        day=day, location=_location(query.location), stale_days=query.stale_days
    )
    audit.record_list(
        "reception.chartprep", patient_ids=[row.patient.pk for row in rows],
        description=f"chart preparation {day.isoformat()}",
        filters={"date": day.isoformat(), "location": query.location or ""},
    )  # fmt: skip
    return [
        {
            "appointment_id": row.appointment.pk,
            "patient_id": row.patient.pk,
            "patient_name": row.patient.full_name,
            "start": row.appointment.start,
            "provider": str(row.appointment.provider),
            "appointment_type": row.appointment.appointment_type.name,
            "balance": row.balance,
            "ready": row.ready,
            "items": [
                {"kind": i.kind, "message": i.message, "severity": i.severity} for i in row.items
            ],
        }
        for row in rows
    ]


routers = [("reception", router)]
