"""Factories for the front desk's records; valid by default, every field overridable."""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.utils import timezone

from medoffice.reception.models import FormType, Payment, SignedForm, Visit

_counter = itertools.count(1)


def form_type(**fields) -> FormType:
    n = next(_counter)
    values = {"name": f"Form {n}", "renew_every_days": None}
    values.update(fields)
    return FormType.objects.create(**values)


def signed_form(*, patient, form_type, recorded_by, signed_at=None, **fields) -> SignedForm:
    return SignedForm.objects.create(
        patient=patient,
        form_type=form_type,
        recorded_by=recorded_by,
        signed_at=signed_at or timezone.now(),
        **fields,
    )


def payment(
    *, patient, received_by, amount="20.00", method="cash", post: bool = True, **fields
) -> Payment:
    """A payment as the desk records it, posted to the books (post=False: the row alone, as
    payments stood before the books existed). Cash and checks sit in a location's drawer."""
    from medoffice.core.models import Location
    from medoffice.ledger.services import post as ledger_post
    from medoffice.reception.postings import payment_posting
    from medoffice.reception.selectors import practice_zone
    from medoffice.testing import factories

    n = next(_counter)
    values = {
        "reference": "",
        "received_at": timezone.now(),
        "receipt_number": f"T-{n:06d}",
    }
    values.update(fields)
    if values.get("location") is None and "location_id" not in values and method != "card":
        values["location"] = Location.objects.order_by("pk").first() or factories.location()
    made = Payment.objects.create(
        patient=patient, received_by=received_by, amount=Decimal(amount), method=method, **values
    )
    if post:
        ledger_post(payment_posting(made, practice_zone()), actor=received_by)
    return made


def visit(*, appointment, **fields) -> Visit:
    """A visit at the stage given, with every earlier stage's time filled in."""
    stage = fields.pop("stage", "arrived")
    now = timezone.now()
    order = ["arrived", "roomed", "with_provider", "checked_out"]
    times = {}
    if stage != "scheduled":
        for name in order[: order.index(stage) + 1]:
            times[f"{name}_at"] = now
    times.update(fields)
    return Visit.objects.create(
        appointment=appointment, patient=appointment.patient, stage=stage, **times
    )
