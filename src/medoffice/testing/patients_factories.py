"""Factories for patients, payers and coverages; valid by default, every field overridable."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from medoffice.patients.models import (
    Authorization,
    AuthorizationKind,
    Coverage,
    Patient,
    Payer,
    PlanType,
)

_counter = itertools.count(1)


def payer(**fields) -> Payer:
    n = next(_counter)
    values = {
        "name": f"Test Health Plan {n}",
        "payer_id": f"TP{n:05d}",
        "plan_type": PlanType.COMMERCIAL,
        "timely_filing_days": 180,
    }
    values.update(fields)
    return Payer.objects.create(**values)


def patient(**fields) -> Patient:
    """A patient with a factory MRN ("T" + number), so it never collides with the practice's."""
    n = next(_counter)
    values = {
        "mrn": f"T{n:07d}",
        "first_name": "Alex",
        "last_name": f"Tester{n}",
        "date_of_birth": date(1980, 1, 1),
        "sex": "F",
        "phone": "",
    }
    values.update(fields)
    return Patient.objects.create(**values)


def coverage(**fields) -> Coverage:
    n = next(_counter)
    values = {
        "member_id": f"M{n:08d}",
        "group_number": "G100",
        "effective_date": date(2020, 1, 1),
        "priority": 1,
        "copay": Decimal("25.00"),
    }
    values.update(fields)
    if "patient" not in values:
        values["patient"] = patient()
    if "payer" not in values:
        values["payer"] = payer()
    return Coverage.objects.create(**values)


def authorization(**fields) -> Authorization:
    n = next(_counter)
    values = {
        "kind": AuthorizationKind.REFERRAL,
        "number": f"A{n:06d}",
        "valid_from": date(2020, 1, 1),
        "valid_to": date(2099, 12, 31),
    }
    values.update(fields)
    if "patient" not in values:
        values["patient"] = patient()
    return Authorization.objects.create(**values)
