"""The journal entries of the front desk's money, as plain functions from a record to its
posting (no writes here): the services post them in the same transaction as the record, and
the demo posts them in batches through the same functions.

    payment        Dr the location's cash drawer (cash, check) or card clearing (card)
                   Cr unapplied patient payments, on the patient's account
    payment void   the payment's entry reversed (ledger.services.reverse, event "void")
    drawer close   the difference counted: a shortage Dr cash over/short, Cr the drawer
                   (an overage the other way round)
    deposit        Dr the operating bank, Cr the drawer
    refund         approved: Dr unapplied patient payments (the patient), Cr refunds payable;
                   paid out: Dr refunds payable, Cr the drawer (cash), the bank (check) or
                   card clearing (card)
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from decimal import Decimal

from medoffice.core.models import Location
from medoffice.ledger.services import Line, Posting
from medoffice.reception.models import (
    CardSettlement,
    Deposit,
    DrawerClose,
    Payment,
    PaymentMethod,
    Refund,
)

PAYMENT_SOURCE = "reception.payment"
DRAWER_SOURCE = "reception.drawerclose"
DEPOSIT_SOURCE = "reception.deposit"
REFUND_SOURCE = "reception.refund"
CARD_SETTLEMENT_SOURCE = "reception.cardsettlement"


def local_date(payment: Payment, zone: zoneinfo.ZoneInfo) -> date:
    return payment.received_at.astimezone(zone).date()


def money_account(method: str, location: Location | None) -> Line:
    """Where money taken or given back in `method` sits: a template Line without amounts."""
    if method == PaymentMethod.CARD:
        return Line("card_clearing", location=location)
    return Line("cash_drawer", location=location)


def _with(line: Line, *, debit: Decimal | int = 0, credit: Decimal | int = 0) -> Line:
    return Line(
        account=line.account,
        debit=debit,
        credit=credit,
        location=line.location,
        provider=line.provider,
        patient=line.patient,
        memo=line.memo,
    )


def payment_posting(payment: Payment, zone: zoneinfo.ZoneInfo) -> Posting:
    location = payment.location
    where = money_account(payment.method, location)
    memo = f"Receipt {payment.receipt_number} ({payment.get_method_display().lower()})"
    return Posting(
        source_type=PAYMENT_SOURCE,
        source_id=payment.pk,
        date=local_date(payment, zone),
        memo=memo,
        location=location,
        lines=[
            _with(where, debit=payment.amount),
            Line(
                "unapplied_patient",
                credit=payment.amount,
                location=location,
                patient=payment.patient,
                memo=memo,
            ),
        ],
    )


def drawer_close_posting(close: DrawerClose) -> Posting | None:
    """The over/short of a close: the drawer's (cash and checks counted less expected) and the
    card batch's (the terminal's batch total less the card receipts, so card clearing holds
    what the processor will pay); None when both matched."""
    over_short = Line("cash_over_short", location=close.location)
    lines: list[Line] = []
    for account, difference in (
        (Line("cash_drawer", location=close.location), close.over_short),
        (Line("card_clearing", location=close.location), close.card_difference),
    ):
        if difference < 0:
            lines += [_with(over_short, debit=-difference), _with(account, credit=-difference)]
        elif difference > 0:
            lines += [_with(account, debit=difference), _with(over_short, credit=difference)]
    if not lines:
        return None
    words = []
    if close.over_short:
        words.append(f"drawer {'over' if close.over_short > 0 else 'short'}")
    if close.card_difference:
        words.append(f"card batch {'over' if close.card_difference > 0 else 'short'}")
    return Posting(
        source_type=DRAWER_SOURCE,
        source_id=close.pk,
        date=close.date,
        memo=f"Close {close.date:%m/%d/%Y}: " + ", ".join(words),
        location=close.location,
        lines=lines,
    )


def deposit_posting(deposit: Deposit) -> Posting:
    memo = f"Deposit {deposit.pk}: cash and {deposit.check_count} checks"
    return Posting(
        source_type=DEPOSIT_SOURCE,
        source_id=deposit.pk,
        date=deposit.date,
        memo=memo,
        location=deposit.location,
        lines=[
            Line("bank_operating", debit=deposit.total, location=deposit.location),
            Line("cash_drawer", credit=deposit.total, location=deposit.location),
        ],
    )


def card_settlement_posting(settlement: CardSettlement) -> Posting:
    """The processor's payment: Dr the operating bank (what arrived) and card fees (what the
    processor kept), Cr card clearing (the batches it pays)."""
    location = settlement.location
    lines = [
        Line("bank_operating", debit=settlement.net, location=location),
        Line("card_clearing", credit=settlement.gross, location=location),
    ]
    if settlement.fees:
        lines.append(Line("card_fees", debit=settlement.fees, location=location))
    return Posting(
        source_type=CARD_SETTLEMENT_SOURCE,
        source_id=settlement.pk,
        date=settlement.date,
        memo=f"Card settlement {settlement.pk}: batches ${settlement.gross:,.2f}, "
        f"fees ${settlement.fees:,.2f}",
        location=location,
        lines=[line for line in lines if line.debit or line.credit],
    )


def refund_approved_posting(refund: Refund, on: date) -> Posting:
    memo = f"Refund {refund.number} approved"
    return Posting(
        source_type=REFUND_SOURCE,
        source_id=refund.pk,
        event="approved",
        date=on,
        memo=memo,
        location=refund.location,
        lines=[
            Line(
                "unapplied_patient",
                debit=refund.amount,
                location=refund.location,
                patient=refund.patient,
                memo=memo,
            ),
            Line("refunds_payable", credit=refund.amount, location=refund.location),
        ],
    )


def refund_paid_posting(refund: Refund, on: date) -> Posting:
    memo = f"Refund {refund.number} paid ({refund.get_method_display().lower()})"
    if refund.method == PaymentMethod.CASH:
        source = Line("cash_drawer", location=refund.location)
    elif refund.method == PaymentMethod.CHECK:
        source = Line("bank_operating", location=refund.location)
    else:
        source = Line("card_clearing", location=refund.location)
    return Posting(
        source_type=REFUND_SOURCE,
        source_id=refund.pk,
        event="paid",
        date=on,
        memo=memo,
        location=refund.location,
        lines=[
            Line("refunds_payable", debit=refund.amount, location=refund.location),
            _with(source, credit=refund.amount),
        ],
    )
