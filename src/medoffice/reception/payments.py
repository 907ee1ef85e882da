"""Rules for money taken at the desk: what a valid payment is, and the receipt number it gets.

Kept apart from services.py so check-in and the payment screen share one definition.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import F

from medoffice.core.exceptions import InvalidInput
from medoffice.core.money import parse_money
from medoffice.reception.models import PaymentMethod, ReceiptSequence

MAX_PAYMENT = Decimal("10000.00")  # above this the desk is not the place: it goes to billing
# 13 to 19 digits in a row (spaces and dashes ignored) is what a card number looks like.
_CARD_NUMBER = re.compile(r"\d{13,19}")
_CHECK_NUMBER = re.compile(r"^\d{1,10}$")
_CARD_REFERENCE = re.compile(r"^[A-Za-z0-9-]{2,20}$")


@dataclass(frozen=True)
class PaymentInput:
    """A payment as typed at the desk, before it is checked."""

    amount: Decimal | str | int  # floats are refused: money is never a binary fraction
    method: str
    reference: str = ""
    note: str = ""


@dataclass(frozen=True)
class CleanPayment:
    amount: Decimal
    method: str
    reference: str
    note: str


def looks_like_card_number(text: str) -> bool:
    return bool(_CARD_NUMBER.search(re.sub(r"[\s.-]", "", text or "")))


def parse_amount(value: object) -> Decimal:
    """A money amount in dollars and cents (the project's one parser), more than zero and at
    most MAX_PAYMENT."""
    amount = parse_money(value, field="amount", label="Amount")
    if amount > MAX_PAYMENT:
        raise InvalidInput(
            f"Amount: over ${MAX_PAYMENT:,} — post large payments through billing.",
            field="amount",
        )
    return amount


# What a person reads for each field a desk form can get wrong ("Check the copay amount",
# never "copay.amount"); the keys stay in `errors` for the API and the form.
FIELD_LABELS = {
    "amount": "amount",
    "method": "payment method",
    "reference": "check number or card authorization",
    "note": "note",
    "notes": "note",
    "location": "location",
    "demographics_confirmed": "patient's details",
    "coverage_confirmed": "insurance card",
    "forms_signed": "signed forms",
    "eligibility": "eligibility answers",
}


def in_words(errors: dict[str, list[str]]) -> str:
    """The fields named in `errors`, by their labels: "amount and payment method"."""
    labels: list[str] = []
    for key in errors:
        head, _, rest = key.partition(".")
        if head == "copay":
            label = "copay " + FIELD_LABELS.get(rest, "payment")
        else:
            label = FIELD_LABELS.get(head, "highlighted fields")
        if label not in labels:
            labels.append(label)
    if len(labels) > 1:
        return ", ".join(labels[:-1]) + " and " + labels[-1]
    return labels[0] if labels else "highlighted fields"


def clean_payment(data: PaymentInput) -> CleanPayment:
    """Check every field and name each bad one; the card number is never accepted."""
    errors: dict[str, list[str]] = {}
    amount = Decimal("0")
    try:
        amount = parse_amount(data.amount)
    except InvalidInput as exc:
        errors["amount"] = [exc.message]
    method = (data.method or "").strip().lower()
    reference = (data.reference or "").strip()
    note = (data.note or "").strip()
    if method not in PaymentMethod.values:
        errors["method"] = ["Choose cash, check or card."]
    if looks_like_card_number(reference):
        errors["reference"] = [
            "Never record a card number: enter the authorization code or the last 4 digits."
        ]
    elif method == PaymentMethod.CHECK and not _CHECK_NUMBER.match(reference):
        errors["reference"] = ["Enter the check number (digits only)."]
    elif method == PaymentMethod.CARD and not _CARD_REFERENCE.match(reference):
        errors["reference"] = [
            "Enter the card authorization code or terminal reference (letters and digits)."
        ]
    elif len(reference) > 40:
        errors["reference"] = ["Keep the reference to 40 characters."]
    if looks_like_card_number(note):
        errors["note"] = ["Never record a card number in the note."]
    elif len(note) > 200:
        errors["note"] = ["Keep the note to 200 characters."]
    if errors:
        raise InvalidInput(f"Check the {in_words(errors)}.", errors=errors)
    if method == PaymentMethod.CASH:
        reference = reference[:40]
    return CleanPayment(amount=amount, method=method, reference=reference, note=note)


def next_receipt_number(at: datetime, time_zone: str) -> str:
    """Take the next receipt number of the year, e.g. 2025-000042.

    The year's counter row is locked (select_for_update) and bumped in the database, so two
    desks taking a payment at the same moment get different numbers; a payment that is rolled
    back gives its number back with it, so numbers have no gaps.
    """
    year = at.astimezone(zoneinfo.ZoneInfo(time_zone)).year
    sequence, _ = ReceiptSequence.objects.select_for_update().get_or_create(year=year)
    ReceiptSequence.objects.filter(pk=sequence.pk).update(last_number=F("last_number") + 1)
    sequence.refresh_from_db(fields=["last_number"])
    return f"{year}-{sequence.last_number:06d}"
