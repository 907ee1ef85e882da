"""Refunds of a patient's credit: asked for at the desk, decided through the approval service
(within the asker's refund authority at once, above it in the approvals queue), then paid out
in cash from the drawer, by check from the bank, or back to the card."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotFound
from medoffice.core.models import ApprovalRequest, ApprovalStatus, DecisionKind, Location, User
from medoffice.core.money import ZERO, parse_money
from medoffice.core.services import approval_request
from medoffice.ledger import services as ledger
from medoffice.ledger.models import JournalEntry
from medoffice.reception.models import (
    REFUND_TRANSITIONS,
    DrawerClose,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from medoffice.reception.payments import looks_like_card_number
from medoffice.reception.permissions import ReceptionPerm
from medoffice.reception.postings import (
    REFUND_SOURCE,
    refund_approved_posting,
    refund_paid_posting,
)
from medoffice.reception.selectors import (
    drawer_day,
    local_today,
    patient_balance,
    refundable_credit,
)
from medoffice.reception.services.common import _clean_reason, _lock_patient, _refuse_merged
from medoffice.reception.services.desk import HELD_WORDS, desk_location, lock_drawer

if TYPE_CHECKING:
    from medoffice.patients.models import Patient

_CHECK_NUMBER = r"^\d{1,10}$"
_CARD_REFERENCE = r"^[A-Za-z0-9-]{2,20}$"


def _refund_move(refund: Refund, to: RefundStatus) -> None:
    """Move the refund to the status `to`, only as REFUND_TRANSITIONS allows: any other move
    is refused, naming where it is and where it was to go, and the refund is left as it was."""
    if to not in REFUND_TRANSITIONS[refund.status]:
        raise InvalidTransition(
            f"Refund {refund.number} is {refund.status}: it cannot become {to.value}.",
            field="refund",
        )
    refund.status = to


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
        pays = {"cash": "drawer pays the cash", "card": "card terminal gives it back"}.get(
            method, "desk gives the check"
        )
        raise InvalidInput(f"location: say which location's {pays}.", field="location") from None
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
    # The asker's refunds of the day wait for each other, so their total is counted whole.
    User.objects.select_for_update(no_key=True).filter(pk=requested_by.pk).values_list("pk").first()
    earlier_today = _refunded_today_by(requested_by, now)
    decision = approval_request(
        kind=DecisionKind.REFUND,
        amount=value,
        counted=value + earlier_today,
        description=(
            f"Refund {refund.number} to {patient.full_name} "
            f"({refund.get_method_display().lower()}): {reason}"
            + (
                f" [with ${earlier_today:,.2f} the same person refunded today]"
                if earlier_today
                else ""
            )
        )[:300],
        requested_by=requested_by,
        subject=refund,
    )  # within the asker's authority the handler below has approved and posted it already
    Refund.objects.filter(pk=refund.pk).update(approval=decision)
    refund.refresh_from_db()
    return refund


def _refunded_today_by(user: User, now: datetime) -> Decimal:
    """What `user` refunded today on their own authority (approved at once, not rejected or
    cancelled): a refund limit holds for the day's total, so one refund split in several
    under the limit still goes to the approvals queue."""
    from medoffice.reception.selectors import practice_zone

    start = datetime.combine(local_today(now), time.min, tzinfo=practice_zone())
    total = Refund.objects.filter(
        requested_by=user,
        requested_at__gte=start,
        approval__within_requester_authority=True,
        status__in=(RefundStatus.APPROVED, RefundStatus.PAID),
    ).aggregate(total=Sum("amount"))["total"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


def _closed_drawer_words(refund: Refund, method: str, day: date) -> str:
    """Why `refund` cannot be paid by `method` on `day`, or "": cash comes from the drawer and
    a card refund goes into its batch, so neither is paid at a drawer closed for the day. A
    check comes from the bank, and the drawer opens again the next day."""
    if method not in (PaymentMethod.CASH, PaymentMethod.CARD) or refund.location is None:
        return ""
    close = (
        DrawerClose.objects.filter(location=refund.location, date=day)
        .select_related("closed_by")
        .first()
    )
    if close is None:
        return ""
    how = "in cash" if method == PaymentMethod.CASH else "back to the card"
    return (
        f"The drawer at {refund.location.name} for {day:%m/%d/%Y} is closed (by "
        f"{close.closed_by}), so refund {refund.number} cannot be paid {how} there today: "
        f"pay it by check now, or {how} on a day the drawer is open."
    )


def refund_closed_drawer(refund: Refund, *, now: datetime | None = None) -> str:
    """What stops an approved refund from being paid today the way it was asked (its drawer is
    closed for the day, and how to pay it instead), or "" when nothing does. The approval is
    not refused for it: approving moves the credit to refunds payable and touches no drawer."""
    if refund.status != RefundStatus.APPROVED:
        return ""
    return _closed_drawer_words(refund, refund.method, local_today(now or timezone.now()))


def refund_decided(decision: ApprovalRequest) -> None:
    """The approval service's answer on a refund (registered from ReceptionConfig.ready()). An
    approval gives back only credit still on the account: a payment voided, or another refund
    approved, while this one waited may have taken it, and then the approval is refused."""
    if decision.subject_type != "reception.refund" or not decision.subject_id:
        return
    refund = Refund.objects.select_for_update().filter(pk=decision.subject_id).first()
    if refund is None or refund.status != RefundStatus.REQUESTED:
        return
    now = decision.decided_at or timezone.now()
    if decision.status == ApprovalStatus.APPROVED:
        _lock_patient(refund.patient)
        credit = max(-patient_balance(refund.patient), ZERO)
        if refund.amount > credit:
            raise InvalidTransition(
                f"Refund {refund.number} is ${refund.amount:,.2f}, more than the credit on the "
                f"account now (${credit:,.2f}); reject it, and ask again for what is there.",
                field="refund",
            )
        _refund_move(refund, RefundStatus.APPROVED)
        ledger.post(refund_approved_posting(refund, local_today(now)), actor=decision.decided_by)
    elif decision.status == ApprovalStatus.REJECTED:
        _refund_move(refund, RefundStatus.REJECTED)
    elif decision.status == ApprovalStatus.CANCELLED:
        _refund_move(refund, RefundStatus.CANCELLED)
    else:
        return
    refund.decided_at = now
    refund.save(update_fields=["status", "decided_at"])


@transaction.atomic
@binds_actor("paid_by")
def refund_pay(
    *,
    refund_id: int,
    paid_by: User,
    reference: str = "",
    method: str = "",
    now: datetime | None = None,
) -> Refund:
    """Give the approved refund to the patient: cash from the drawer, a check (its number) from
    the bank, or back to the card (the terminal's reference). Once. `method` pays it another
    way than was asked (a drawer without the cash pays by check)."""
    import re

    require_perm(paid_by, ReceptionPerm.COLLECT_PAYMENTS)
    now = now or timezone.now()
    found = Refund.objects.filter(pk=refund_id).select_related("location").first()
    if found is None:
        raise NotFound(f"No refund with id {refund_id}.")
    method = (method or "").strip().lower() or found.method
    if method not in PaymentMethod.values:
        raise InvalidInput("method: choose cash, check or card.", field="method")
    if method == PaymentMethod.CASH and found.location is None:
        raise InvalidInput(
            "method: this refund names no location, so no drawer can pay it in cash.",
            field="method",
        )
    reference = (reference or "").strip()
    if looks_like_card_number(reference):
        raise InvalidInput(
            "reference: never record a card number; enter the terminal's reference.",
            field="reference",
        )
    if method == PaymentMethod.CHECK and not re.match(_CHECK_NUMBER, reference):
        raise InvalidInput("reference: enter the check number (digits only).", field="reference")
    if method == PaymentMethod.CARD and not re.match(_CARD_REFERENCE, reference):
        raise InvalidInput(
            "reference: enter the card refund's reference (letters and digits).",
            field="reference",
        )
    if method in (PaymentMethod.CASH, PaymentMethod.CARD):  # the drawer's cash, or its batch
        lock_drawer(found.location)
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("location", "patient")
        .get(pk=refund_id)
    )
    _refuse_unless_approved(refund)
    day = local_today(now)
    refund.method = method
    closed = _closed_drawer_words(refund, method, day)
    if closed:
        raise InvalidTransition(closed, field="method")
    if refund.location is not None and refund.method in (PaymentMethod.CASH, PaymentMethod.CARD):
        # Cash comes out of the day's cash in the drawer; a card refund comes off the day's card
        # batch, which the processor pays net of its refunds: neither may go below nothing.
        held = drawer_day(refund.location, day).expected(refund.method)
        instead = "by check or to the card" if refund.method == PaymentMethod.CASH else "by check"
        if refund.amount > held:
            raise InvalidTransition(
                f"The drawer at {refund.location} holds ${max(held, ZERO):,.2f} "
                f"{HELD_WORDS[refund.method]} taken "
                f"today; refund {refund.number} (${refund.amount:,.2f}) cannot be paid from "
                f"it. Pay it {instead} instead.",
                field="method",
            )
    _refund_move(refund, RefundStatus.PAID)
    refund.reference = reference[:40]
    refund.paid_at = now
    refund.paid_by = paid_by
    refund.save(update_fields=["status", "method", "reference", "paid_at", "paid_by"])
    ledger.post(refund_paid_posting(refund, day), actor=paid_by)
    return refund


_STATE_WORDS = {
    RefundStatus.PAID: "was paid out already",
    RefundStatus.REQUESTED: "is waiting for approval",
    RefundStatus.REJECTED: "was rejected",
    RefundStatus.CANCELLED: "was cancelled",
    RefundStatus.WITHDRAWN: "was withdrawn",
}


def _refuse_unless_approved(refund: Refund) -> None:
    if refund.status != RefundStatus.APPROVED:
        state = _STATE_WORDS[RefundStatus(refund.status)]
        raise InvalidTransition(f"Refund {refund.number} {state}.", field="refund")


@transaction.atomic
@binds_actor("withdrawn_by")
def refund_withdraw(
    *, refund_id: int, withdrawn_by: User, reason: str, now: datetime | None = None
) -> Refund:
    """Take back an approved refund before it is paid out (the patient chose to keep the
    credit, or it was asked in error): its approval entry is reversed, so the amount moves from
    refunds payable back to the patient's credit, where a void or a new refund can reach it.
    Once; a refund paid out is given back only by the patient paying again."""
    require_perm(withdrawn_by, ReceptionPerm.COLLECT_PAYMENTS)
    reason = _clean_reason(reason, what="the refund is withdrawn")
    now = now or timezone.now()
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("patient")
        .filter(pk=refund_id)
    ).first()
    if refund is None:
        raise NotFound(f"No refund with id {refund_id}.")
    _refuse_merged(refund.patient)
    _refuse_unless_approved(refund)
    approved = JournalEntry.objects.filter(
        source_key=f"{REFUND_SOURCE}:{refund.pk}:approved"
    ).first()
    if approved is None:  # approved refunds post on approval; one that did not is posted now
        approved = ledger.post(
            refund_approved_posting(refund, local_today(refund.decided_at or now)),
            actor=withdrawn_by,
        )
    ledger.reverse(
        approved,
        actor=withdrawn_by,
        on=local_today(now),
        event="withdrawn",
        memo=f"Refund {refund.number} withdrawn: {reason}"[:200],
    )
    _refund_move(refund, RefundStatus.WITHDRAWN)
    refund.withdrawn_at = now
    refund.withdrawn_by = withdrawn_by
    refund.withdrawn_reason = reason
    refund.save(update_fields=["status", "withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    return refund
