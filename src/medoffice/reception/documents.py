"""The printable receipt for a payment taken at the desk (PDF, fpdf2)."""

from __future__ import annotations

import unicodedata
import zoneinfo
from decimal import Decimal

from fpdf import FPDF

from medoffice.core import formats
from medoffice.core.selectors import practice_or_none, practice_time_zone
from medoffice.reception.models import Payment
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


def receipt_pdf(payment: Payment, *, balance: Decimal | None = None) -> bytes:
    """One page: the practice, the receipt number, who paid what, how, and when."""
    practice = practice_or_none()
    zone = zoneinfo.ZoneInfo(practice.time_zone if practice else practice_time_zone())
    received = payment.received_at.astimezone(zone)
    patient = payment.patient

    pdf = FPDF(format="Letter", unit="pt")
    pdf.set_title(f"Receipt {payment.receipt_number}")
    pdf.set_author(pdf_text(practice.legal_name if practice else "medoffice"))
    pdf.set_creator("medoffice")
    pdf.set_margins(54, 54, 54)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        width,
        22,
        pdf_text(practice.legal_name if practice else "Receipt"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 10)
    source = payment.location or practice
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

    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(
        width,
        20,
        pdf_text(f"Payment receipt {payment.receipt_number}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(6)

    rows = [
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
    rows.append(
        ("Received by", payment.received_by.get_full_name() or payment.received_by.username)
    )
    if balance is not None:
        rows.append(("Account balance", balance_text(balance)))

    for label, value in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(150, 18, pdf_text(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(width - 150, 18, pdf_text(value), new_x="LMARGIN", new_y="NEXT")

    pdf.ln(24)
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(
        width,
        12,
        "Thank you. Keep this receipt for your records. Amounts paid today are applied to "
        "your account; your insurance may change what you owe for this visit.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
