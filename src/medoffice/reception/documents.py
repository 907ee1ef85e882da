"""The desk's printable papers (PDF, fpdf2): the payment receipt, the refund receipt and the
bank deposit slip. They share one letterhead, one table of facts and one footer."""

from __future__ import annotations

import unicodedata
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal

from fpdf import FPDF

from medoffice.core import formats
from medoffice.core.selectors import practice_or_none, practice_time_zone
from medoffice.reception.models import Deposit, DrawerClose, Payment, Refund, RefundStatus
from medoffice.reception.selectors import balance_text


def pdf_text(value) -> str:
    """Text the PDF's built-in fonts can draw: accents kept where Latin-1 has them."""
    text = str(value or "")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = unicodedata.normalize("NFC", text).encode("latin-1", "replace").decode("latin-1")
    return text


def _zone() -> zoneinfo.ZoneInfo:
    practice = practice_or_none()
    return zoneinfo.ZoneInfo(practice.time_zone if practice else practice_time_zone())


def _page(title: str, location) -> tuple[FPDF, float]:
    """A Letter page with the practice's letterhead (the location's address when known)."""
    practice = practice_or_none()
    pdf = FPDF(format="Letter", unit="pt")
    pdf.set_title(pdf_text(title))
    pdf.set_author(pdf_text(practice.legal_name if practice else "medoffice"))
    pdf.set_creator("medoffice")
    pdf.set_margins(54, 54, 54)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        width, 22, pdf_text(practice.legal_name if practice else title),
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.set_font("Helvetica", "", 10)
    source = location or practice
    if source is not None:
        lines = [
            source.address_line1,
            source.address_line2,
            f"{source.city}, {source.state} {source.zip_code}",
            formats.phone(getattr(source, "phone", "")),
        ]
        for line in lines:
            if line:
                pdf.cell(width, 14, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(18)
    return pdf, width


def _heading(pdf: FPDF, width: float, text: str, *, void: bool = False) -> None:
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(width, 20, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
    if void:
        pdf.set_text_color(180, 0, 0)
        pdf.set_font("Helvetica", "B", 28)
        pdf.cell(width, 34, "VOID", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(6)


def _facts(pdf: FPDF, width: float, rows: Sequence[tuple[str, object]]) -> None:
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(150, 18, pdf_text(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(width - 150, 18, pdf_text(value), new_x="LMARGIN", new_y="NEXT")


def _footer(pdf: FPDF, width: float, text: str) -> bytes:
    pdf.ln(24)
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(width, 12, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _person(user) -> str:
    return user.get_full_name() or user.username if user is not None else ""


def receipt_pdf(payment: Payment, *, balance: Decimal | None = None) -> bytes:
    """One page: the practice, the receipt number, who paid what, how, and when; VOID across
    a voided one, with when, by whom and why."""
    zone = _zone()
    received = payment.received_at.astimezone(zone)
    patient = payment.patient
    pdf, width = _page(f"Receipt {payment.receipt_number}", payment.location)
    _heading(pdf, width, f"Payment receipt {payment.receipt_number}", void=payment.is_void)
    rows: list[tuple[str, object]] = [
        ("Receipt number", payment.receipt_number),
        ("Date", f"{formats.us_datetime(received)} {received:%Z}"),
        ("Patient", f"{patient.first_name} {patient.last_name}"),
        ("Account (MRN)", getattr(patient, "mrn", "")),
        ("Amount paid", formats.money(payment.amount)),
        ("Method", payment.get_method_display()),
    ]
    if payment.reference:
        label = {"check": "Check number", "card": "Card authorization"}.get(
            payment.method, "Reference"
        )
        rows.append((label, payment.reference))
    if payment.visit is not None:
        appointment = payment.visit.appointment
        rows.append(("For the visit of", formats.us_date(appointment.start.astimezone(zone))))
        rows.append(("Provider", str(appointment.provider)))
    if payment.note:
        rows.append(("Note", payment.note))
    rows.append(("Received by", _person(payment.received_by)))
    if payment.is_void and payment.voided_at is not None:
        voided = payment.voided_at.astimezone(zone)
        rows.append(("Voided", f"{formats.us_datetime(voided)} by {_person(payment.voided_by)}"))
        rows.append(("Reason", payment.void_reason))
    if balance is not None:
        rows.append(("Account balance", balance_text(balance)))
    _facts(pdf, width, rows)
    if payment.is_void:
        text = "This payment was voided the day it was taken; nothing was charged or kept."
    else:
        text = (
            "Thank you. Keep this receipt for your records. Amounts paid today are applied to "
            "your account; your insurance may change what you owe for this visit."
        )
    return _footer(pdf, width, text)


def refund_receipt_pdf(refund: Refund, *, balance: Decimal | None = None) -> bytes:
    """The patient's copy of money given back: how much, how, when, and who approved it."""
    zone = _zone()
    patient = refund.patient
    pdf, width = _page(f"Refund {refund.number}", refund.location)
    # A receipt only once money was given back; before that (or never) it is the refund's record.
    title = "Refund receipt" if refund.status == RefundStatus.PAID else "Refund record"
    _heading(pdf, width, f"{title} {refund.number}")
    rows: list[tuple[str, object]] = [
        ("Refund number", refund.number),
        ("Patient", f"{patient.first_name} {patient.last_name}"),
        ("Account (MRN)", getattr(patient, "mrn", "")),
        (_REFUND_AMOUNT_LABEL[RefundStatus(refund.status)], formats.money(refund.amount)),
        ("Method", refund.get_method_display()),
        ("Status", refund.get_status_display()),
        ("Reason", refund.reason),
        ("Requested", f"{formats.us_datetime(refund.requested_at.astimezone(zone))} by "
                      f"{_person(refund.requested_by)}"),
    ]  # fmt: skip
    if refund.approval is not None and refund.approval.decided_by is not None:
        verb = "Rejected by" if refund.status == RefundStatus.REJECTED else "Approved by"
        rows.append((verb, _person(refund.approval.decided_by)))
    if refund.reference:
        label = {"check": "Check number", "card": "Card refund reference"}.get(
            refund.method, "Reference"
        )
        rows.append((label, refund.reference))
    if refund.paid_at is not None:
        rows.append(
            ("Paid out", f"{formats.us_datetime(refund.paid_at.astimezone(zone))} by "
                         f"{_person(refund.paid_by)}")
        )  # fmt: skip
    if refund.withdrawn_at is not None:
        rows.append(
            ("Withdrawn", f"{formats.us_datetime(refund.withdrawn_at.astimezone(zone))} by "
                          f"{_person(refund.withdrawn_by)}: {refund.withdrawn_reason}")
        )  # fmt: skip
    if balance is not None:
        rows.append(("Account balance", balance_text(balance)))
    _facts(pdf, width, rows)
    if refund.status != RefundStatus.PAID:
        return _footer(pdf, width, "No money has been given back yet: this is not a receipt.")
    return _footer(pdf, width, "Keep this receipt for your records.")


_REFUND_AMOUNT_LABEL = {
    RefundStatus.PAID: "Amount refunded",
    RefundStatus.APPROVED: "Amount to refund (approved, not yet paid out)",
    RefundStatus.REQUESTED: "Amount asked for (waiting for approval)",
    RefundStatus.REJECTED: "Amount asked for (rejected)",
    RefundStatus.CANCELLED: "Amount asked for (cancelled)",
    RefundStatus.WITHDRAWN: "Amount approved (withdrawn before it was paid out)",
}


def deposit_slip_pdf(
    deposit: Deposit, closes: Sequence[DrawerClose] = (), checks: Sequence[Payment] = ()
) -> bytes:
    """The bank's deposit slip: each check with its number and amount, the cash, the total."""
    from medoffice.reception.selectors import checks_of_closes, deposit_closes

    closes = list(closes) or deposit_closes(deposit.pk)
    checks = list(checks) or checks_of_closes(closes)
    pdf, width = _page(f"Deposit slip {deposit.pk}", deposit.location)
    _heading(pdf, width, f"Deposit slip {deposit.pk}: {deposit.location.name}")
    days = ", ".join(formats.us_date(close.date) for close in closes)
    _facts(
        pdf,
        width,
        [
            ("Deposit date", formats.us_date(deposit.date)),
            ("Days deposited", days),
            ("Prepared by", _person(deposit.made_by)),
        ],
    )
    pdf.ln(10)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(width, 18, "Checks", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(120, 16, "Check number")
    pdf.cell(200, 16, "From")
    pdf.cell(width - 320, 16, "Amount", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for check in checks:
        pdf.cell(120, 16, pdf_text(check.reference))
        pdf.cell(200, 16, pdf_text(f"{check.patient.last_name}, {check.patient.first_name}"))
        pdf.cell(
            width - 320, 16, formats.money(check.amount), align="R", new_x="LMARGIN", new_y="NEXT"
        )
    if not checks:
        pdf.cell(width, 16, "No checks.", new_x="LMARGIN", new_y="NEXT")
    listed = sum((check.amount for check in checks), Decimal("0"))
    if listed != deposit.checks:  # the close counted other check totals than the receipts
        pdf.cell(320, 16, "Checks counted at the close, less the receipts above")
        pdf.cell(
            width - 320, 16, formats.money(deposit.checks - listed), align="R",
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip
    pdf.ln(8)
    _facts(
        pdf,
        width,
        [
            (f"Checks ({deposit.check_count})", formats.money(deposit.checks)),
            ("Cash", formats.money(deposit.cash)),
            ("Total deposit", formats.money(deposit.total)),
        ],
    )
    return _footer(
        pdf, width, "Card payments are not on this slip: the card processor pays them to the bank."
    )
