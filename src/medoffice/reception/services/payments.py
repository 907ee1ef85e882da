"""Money taken at the desk: a payment, its receipt number and its journal entry, and its void."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotFound
from medoffice.core.models import Location, User
from medoffice.core.money import ZERO
from medoffice.core.selectors import practice_time_zone
from medoffice.core.services import full_clean_or_raise
from medoffice.ledger import services as ledger
from medoffice.ledger.models import JournalEntry
from medoffice.reception.models import Payment, PaymentMethod, Refund, RefundStatus, Visit
from medoffice.reception.payments import (
    CleanPayment,
    PaymentInput,
    clean_payment,
    next_receipt_number,
)
from medoffice.reception.permissions import ReceptionPerm
from medoffice.reception.postings import PAYMENT_SOURCE, payment_posting
from medoffice.reception.selectors import (
    charges_are_posted,
    drawer_day,
    local_today,
    patient_balance,
    practice_zone,
)
from medoffice.reception.services.common import _clean_reason, _lock_patient, _refuse_merged
from medoffice.reception.services.desk import (
    HELD_WORDS,
    desk_location,
    lock_drawer,
    refuse_closed_day,
)

if TYPE_CHECKING:
    from medoffice.patients.models import Patient


def _write_payment(
    *,
    patient: Patient,
    clean: CleanPayment,
    received_by: User,
    visit: Visit | None,
    location: Location | None,
    now: datetime,
) -> Payment:
    """The payment, its receipt number and its journal entry, in the caller's transaction."""
    location = desk_location(location, clean.method)
    receipt_number = next_receipt_number(now, practice_time_zone())  # the counter comes first
    lock_drawer(location)
    refuse_closed_day(location, local_today(now), "a payment")
    payment = Payment(
        patient=patient,
        visit=visit,
        amount=clean.amount,
        method=clean.method,
        reference=clean.reference,
        note=clean.note,
        received_at=now,
        received_by=received_by,
        location=location,
        receipt_number=receipt_number,
    )
    full_clean_or_raise(payment, exclude=["receipt_number"])
    payment.save(force_insert=True)
    ledger.post(payment_posting(payment, practice_zone()), actor=received_by)
    return payment


@transaction.atomic
@binds_actor("received_by")
def payment_record(
    *,
    patient: Patient,
    payment: PaymentInput,
    received_by: User,
    visit: Visit | None = None,
    location: Location | None = None,
    now: datetime | None = None,
) -> Payment:
    """Take a payment at the desk; it gets the next receipt number and credits the account."""
    require_perm(received_by, ReceptionPerm.COLLECT_PAYMENTS)
    _refuse_merged(patient)
    clean = clean_payment(payment)
    if visit is not None and visit.patient_id != patient.pk:
        raise InvalidInput("That visit belongs to another patient.", field="visit")
    if location is None and visit is not None:
        location = visit.appointment.location
    return _write_payment(
        patient=patient,
        clean=clean,
        received_by=received_by,
        visit=visit,
        location=location,
        now=now or timezone.now(),
    )


def payment_entry(payment: Payment) -> JournalEntry | None:
    return JournalEntry.objects.filter(source_key=f"{PAYMENT_SOURCE}:{payment.pk}").first()


def _refuse_void_below_the_drawer(payment: Payment, day: date) -> None:
    """Refunds paid from the drawer today came out of its cash (or off its card batch): a void
    may not take out more than is left there, or the day would expect less than nothing and
    its close would book an overage that never was. The drawer is locked by the caller."""
    if payment.location is None or payment.method not in (PaymentMethod.CASH, PaymentMethod.CARD):
        return
    held = drawer_day(payment.location, day).expected(payment.method)
    if payment.amount > held:
        raise InvalidTransition(
            f"Receipt {payment.receipt_number} cannot be voided: refunds paid from the drawer "
            f"at {payment.location.name} today leave ${max(held, ZERO):,.2f} "
            f"{HELD_WORDS[payment.method]} there, less "
            f"than its ${payment.amount:,.2f}. Keep the payment and give back what is owed as "
            "a refund by check.",
            field="payment",
        )


def _refuse_void_under_refunds(payment: Payment) -> None:
    """A void takes the payment's credit off the account; refunds still to be paid from that
    credit (waiting for approval, or approved and not yet paid out) must stay covered, and
    before charges post an account can only owe what was refunded of money never taken."""
    _lock_patient(payment.patient)
    credit_after = -(patient_balance(payment.patient) + payment.amount)
    open_refunds = list(
        Refund.objects.filter(
            patient_id=payment.patient_id,
            status__in=(RefundStatus.REQUESTED, RefundStatus.APPROVED),
        ).order_by("requested_at", "pk")
    )
    waiting = sum((r.amount for r in open_refunds if r.status == RefundStatus.REQUESTED), ZERO)
    approved = [r for r in open_refunds if r.status == RefundStatus.APPROVED]
    if credit_after >= waiting and (credit_after >= 0 or (charges_are_posted() and not approved)):
        return
    if open_refunds:
        names = ", ".join(
            f"{r.number} (${r.amount:,.2f}, {r.get_status_display().lower()})" for r in open_refunds
        )
        raise InvalidTransition(
            f"Receipt {payment.receipt_number} cannot be voided: refund {names} is to be "
            "paid from this credit. First reject or cancel a refund waiting for approval, or "
            "withdraw an approved one on its page.",
            field="payment",
        )
    raise InvalidTransition(
        f"Receipt {payment.receipt_number} cannot be voided: part of this credit was refunded "
        "already, and the void would leave the account owing money that was never taken.",
        field="payment",
    )


@transaction.atomic
@binds_actor("voided_by")
def payment_void(
    *, payment_id: int, voided_by: User, reason: str, now: datetime | None = None
) -> Payment:
    """Undo a payment taken by mistake: the same day, before that day's drawer is closed. Its
    entry is reversed; the payment keeps its receipt number, marked void."""
    require_perm(voided_by, ReceptionPerm.COLLECT_PAYMENTS)
    reason = _clean_reason(reason, what="the payment is voided")
    now = now or timezone.now()
    found = Payment.objects.filter(pk=payment_id).select_related("location").first()
    if found is None:
        raise NotFound(f"No payment with id {payment_id}.")
    lock_drawer(found.location)
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(pk=payment_id)
    )
    if payment.is_void:
        raise InvalidTransition(
            f"Receipt {payment.receipt_number} is already void "
            f"(voided {timezone.localtime(payment.voided_at, practice_zone()):%m/%d/%Y %H:%M}).",
            field="payment",
        )
    day = payment.received_at.astimezone(practice_zone()).date()
    if day != local_today(now):
        raise InvalidTransition(
            f"Receipt {payment.receipt_number} was taken on {day:%m/%d/%Y}; only today's "
            "payments can be voided. Give the money back as a refund instead.",
            field="payment",
        )
    refuse_closed_day(payment.location, day, "a void")
    _refuse_void_under_refunds(payment)
    _refuse_void_below_the_drawer(payment, day)
    entry = payment_entry(payment)
    if entry is None:  # every payment posts; one that did not is posted now, then reversed
        entry = ledger.post(payment_posting(payment, practice_zone()), actor=voided_by)
    ledger.reverse(
        entry,
        actor=voided_by,
        on=day,
        event="void",
        memo=f"Void of receipt {payment.receipt_number}: {reason}"[:200],
    )
    payment.voided_at = now
    payment.voided_by = voided_by
    payment.void_reason = reason
    payment.save(update_fields=["voided_at", "voided_by", "void_reason"])
    return payment
