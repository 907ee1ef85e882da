"""Refunds of a patient's credit: asked for at the desk, decided through the approval service
(within the asker's refund authority at once, above it in the approvals queue), then paid out
in cash from the drawer, by check from the bank, or back to the card."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotFound
from medoffice.core.models import ApprovalRequest, ApprovalStatus, DecisionKind, Location, User
from medoffice.core.money import parse_money
from medoffice.core.services import approval_request
from medoffice.ledger import services as ledger
from medoffice.reception.models import PaymentMethod, Refund, RefundStatus
from medoffice.reception.payments import looks_like_card_number
from medoffice.reception.permissions import ReceptionPerm
from medoffice.reception.postings import refund_approved_posting, refund_paid_posting
from medoffice.reception.selectors import local_today, refundable_credit
from medoffice.reception.services.common import _refuse_merged
from medoffice.reception.services.desk import desk_location, lock_drawer, refuse_closed_day

if TYPE_CHECKING:
    from medoffice.patients.models import Patient

_CHECK_NUMBER = r"^\d{1,10}$"
_CARD_REFERENCE = r"^[A-Za-z0-9-]{2,20}$"


def _lock_patient(patient: Patient) -> None:
    """Refunds of one patient wait for each other, so two never give back the same credit."""
    from medoffice.patients.models import Patient

    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).values_list("pk").first()


@transaction.atomic
@binds_actor("requested_by")
def refund_request(
    *,
    patient: Patient,
    amount: object,
    method: str,
    reason: str,
    requested_by: User,
    location: Location | None = None,
    now: datetime | None = None,
) -> Refund:
    """Ask to give back part or all of a patient's credit. Within the asker's refund authority
    it is approved at once (and posted); above it, it waits for someone whose authority covers
    it. Never more than the credit on the account."""
    require_perm(requested_by, ReceptionPerm.COLLECT_PAYMENTS)
    _refuse_merged(patient)
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    value = None
    try:
        value = parse_money(amount, field="amount", label="Amount")
    except InvalidInput as exc:
        errors["amount"] = [exc.message]
    method = (method or "").strip().lower()
    if method not in PaymentMethod.values:
        errors["method"] = ["Choose cash, check or card."]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = ["Say why the money goes back."]
    elif len(reason) > 200:
        errors["reason"] = ["Keep the reason to 200 characters."]
    elif looks_like_card_number(reason):
        errors["reason"] = ["Never record a card number."]
    if errors:
        raise InvalidInput(
            "Refund not requested: check the " + " and ".join(errors) + ".", errors=errors
        )
    assert value is not None
    try:
        location = desk_location(location, method)
    except InvalidInput:
        raise InvalidInput(
            "location: say which location's drawer pays the cash.", field="location"
        ) from None
    _lock_patient(patient)
    credit = refundable_credit(patient.pk)
    if value > credit:
        raise InvalidInput(
            f"amount: ${value:,.2f} is more than the credit on the account "
            f"(${credit:,.2f} can be refunded).",
            field="amount",
        )
    refund = Refund(
        patient=patient,
        amount=value,
        method=method,
        location=location,
        reason=reason,
        status=RefundStatus.REQUESTED,
        requested_at=now,
        requested_by=requested_by,
    )
    refund.save(force_insert=True)
    decision = approval_request(
        kind=DecisionKind.REFUND,
        amount=value,
        description=f"Refund {refund.number} to {patient.full_name} "
        f"({refund.get_method_display().lower()}): {reason}"[:300],
        requested_by=requested_by,
        subject=refund,
    )  # within the asker's authority the handler below has approved and posted it already
    Refund.objects.filter(pk=refund.pk).update(approval=decision)
    refund.refresh_from_db()
    return refund


def refund_decided(decision: ApprovalRequest) -> None:
    """The approval service's answer on a refund (registered from ReceptionConfig.ready())."""
    if decision.subject_type != "reception.refund" or not decision.subject_id:
        return
    refund = Refund.objects.select_for_update().filter(pk=decision.subject_id).first()
    if refund is None or refund.status != RefundStatus.REQUESTED:
        return
    now = decision.decided_at or timezone.now()
    if decision.status == ApprovalStatus.APPROVED:
        refund.status = RefundStatus.APPROVED
        ledger.post(refund_approved_posting(refund, local_today(now)), actor=decision.decided_by)
    elif decision.status == ApprovalStatus.REJECTED:
        refund.status = RefundStatus.REJECTED
    else:
        return
    refund.decided_at = now
    refund.save(update_fields=["status", "decided_at"])


@transaction.atomic
@binds_actor("paid_by")
def refund_pay(
    *, refund_id: int, paid_by: User, reference: str = "", now: datetime | None = None
) -> Refund:
    """Give the approved refund to the patient: cash from the drawer, a check (its number) from
    the bank, or back to the card (the terminal's reference). Once."""
    import re

    require_perm(paid_by, ReceptionPerm.COLLECT_PAYMENTS)
    now = now or timezone.now()
    found = Refund.objects.filter(pk=refund_id).select_related("location").first()
    if found is None:
        raise NotFound(f"No refund with id {refund_id}.")
    reference = (reference or "").strip()
    if looks_like_card_number(reference):
        raise InvalidInput(
            "reference: never record a card number; enter the terminal's reference.",
            field="reference",
        )
    if found.method == PaymentMethod.CHECK and not re.match(_CHECK_NUMBER, reference):
        raise InvalidInput("reference: enter the check number (digits only).", field="reference")
    if found.method == PaymentMethod.CARD and not re.match(_CARD_REFERENCE, reference):
        raise InvalidInput(
            "reference: enter the card refund's reference (letters and digits).",
            field="reference",
        )
    if found.method == PaymentMethod.CASH:
        lock_drawer(found.location)
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("location", "patient")
        .get(pk=refund_id)
    )
    if refund.status != RefundStatus.APPROVED:
        state = {
            RefundStatus.PAID: "was paid out already",
            RefundStatus.REQUESTED: "is waiting for approval",
            RefundStatus.REJECTED: "was rejected",
        }[RefundStatus(refund.status)]
        raise InvalidTransition(f"Refund {refund.number} {state}.", field="refund")
    day = local_today(now)
    if refund.method == PaymentMethod.CASH:
        refuse_closed_day(refund.location, day, "a cash refund")
    refund.status = RefundStatus.PAID
    refund.reference = reference[:40]
    refund.paid_at = now
    refund.paid_by = paid_by
    refund.save(update_fields=["status", "reference", "paid_at", "paid_by"])
    ledger.post(refund_paid_posting(refund, day), actor=paid_by)
    return refund
