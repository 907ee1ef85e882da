"""Factories for the foundation's records; valid by default, every field overridable."""

from __future__ import annotations

import itertools

from medoffice.core.models import Location, Practice, Provider, Role, User
from medoffice.core.validators import npi_is_valid

DEFAULT_PASSWORD = "correct-horse-battery-staple"
_counter = itertools.count(1)


def make_npi(seed: int) -> str:
    """A valid NPI derived from a seed (the check digit computed, not guessed)."""
    base = f"1{seed:08d}"[-9:]
    for check in range(10):
        candidate = base + str(check)
        if npi_is_valid(candidate):
            return candidate
    raise AssertionError("unreachable: one check digit always fits")


def practice(**fields) -> Practice:
    existing = Practice.objects.order_by("pk").first()
    if existing is not None and not fields:
        return existing
    values = {
        "legal_name": "Riverside Family Medicine, PLLC",
        "tax_id": "12-3456789",
        "group_npi": make_npi(9000001),
        "address_line1": "100 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62701-1234",  # an 837P's billing provider needs ZIP+4
        "time_zone": "America/Chicago",
        "require_two_factor": False,
    }
    values.update(fields)
    return Practice.objects.create(**values)


def location(**fields) -> Location:
    n = next(_counter)
    values = {
        "practice": practice(),
        "name": f"Clinic {n}",
        "address_line1": f"{n} Oak Ave",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62701",
    }
    values.update(fields)
    return Location.objects.create(**values)


def provider(**fields) -> Provider:
    n = next(_counter)
    locations = fields.pop("locations", None)
    values = {
        "practice": practice(),
        "first_name": "Pat",
        "last_name": f"Doctor{n}",
        "credentials": "MD",
        "npi": make_npi(1000000 + n),
        "taxonomy": "207Q00000X",
        "specialty": "Family Medicine",
    }
    values.update(fields)
    made = Provider.objects.create(**values)
    if locations:
        made.locations.set(locations)
    return made


def user(role: str | None = "front_desk", *, password: str = DEFAULT_PASSWORD, **fields) -> User:
    n = next(_counter)
    values = {"username": f"{role or 'user'}{n}", "first_name": "Sam", "last_name": f"Staff{n}"}
    values.update(fields)
    made = User(**values)
    made.set_password(password)
    made.save()
    if role:
        made.roles.set([Role.objects.get(code=role)])
    return made
