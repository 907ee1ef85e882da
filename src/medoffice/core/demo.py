"""The demo practice: generated, seeded and repeatable (the same seed gives the same data).

Each module adds its part with `register_demo_step(name, fn, order)` in its own `demo.py`,
imported from its AppConfig.ready(). Steps run in order (foundation first, order 0) inside
one transaction; each step gets its own random generator seeded from the demo seed and the
step's name, so adding a step never changes what the other steps generate.

    def make_patients(ctx: DemoContext) -> None:
        for _ in range(ctx.count(small=400, large=20_000)):
            ...

    register_demo_step("patients", make_patients, order=10)
"""

from __future__ import annotations

import random
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from medoffice.core.context import Actor, acting_as
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import Location, Practice, Provider, Role, User
from medoffice.core.permissions import ROLE_CODES
from medoffice.core.validators import npi_is_valid

DEFAULT_SEED = 2026
SIZES = ("small", "large")
# One password for every demo login, shown by `medoffice demo` and `medoffice serve --demo`.
DEMO_PASSWORD = "medoffice-demo"  # noqa: S105 (a published demo password, not a secret)
DEMO_ACTOR = Actor(user_id=None, username="demo-loader")


@dataclass
class DemoContext:
    """What a demo step receives. `shared` lets later steps find what earlier ones made."""

    seed: int
    size: str
    today: date
    rng: random.Random
    practice: Practice | None = None
    locations: list[Location] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)
    users: dict[str, list[User]] = field(default_factory=dict)  # by role code
    logins: dict[str, str] = field(default_factory=dict)  # role code -> username to sign in with
    password: str = DEMO_PASSWORD
    shared: dict = field(default_factory=dict)

    @property
    def large(self) -> bool:
        return self.size == "large"

    def count(self, small: int, large: int) -> int:
        """How many of something to make at this size."""
        return large if self.large else small

    def user(self, role: str) -> User:
        """The demo login of a role (e.g. the office manager)."""
        return self.users[role][0]


@dataclass(frozen=True)
class DemoStep:
    name: str
    fn: Callable[[DemoContext], None]
    order: int


_steps: dict[str, DemoStep] = {}


def register_demo_step(name: str, fn: Callable[[DemoContext], None], order: int) -> None:
    """Add (or replace, by name) one module's part of the demo practice."""
    _steps[name] = DemoStep(name=name, fn=fn, order=order)


def demo_steps() -> list[DemoStep]:
    return sorted(_steps.values(), key=lambda step: (step.order, step.name))


@dataclass
class DemoResult:
    seed: int
    size: str
    practice: Practice
    logins: dict[str, str]
    password: str
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)  # what a step could not do, in words

    def login_lines(self) -> list[str]:
        names = dict(Role.objects.values_list("code", "name"))
        return [
            f"  {names.get(role, role):<18} {username}"
            for role, username in sorted(self.logins.items(), key=lambda item: ROLE_ORDER[item[0]])
        ]


def load_demo(
    *,
    seed: int = DEFAULT_SEED,
    size: str = "small",
    today: date | None = None,
    only: tuple[str, ...] | None = None,
    as_unit: bool = True,
) -> DemoResult:
    """Generate the demo practice into an empty database, all steps in one transaction.

    `only` names the steps to run (tests of one module: `only=("foundation", "patients")`).
    The load is one unit of the audit trail: one event (seed, size, rows per model) rather
    than one per row; `as_unit=False` records every write on its own (the capture tests).
    """
    if size not in SIZES:
        raise InvalidInput(f"Choose the demo's size: one of {', '.join(SIZES)}.", field="size")
    existing = Practice.objects.order_by("pk").first()
    if existing is not None:
        raise Conflict(
            f"This database already has a practice ({existing.legal_name}); "
            "`medoffice demo --reset` replaces a demo practice."
        )
    seconds: dict[str, float] = {}
    ctx = DemoContext(
        seed=seed, size=size, today=today or timezone.localdate(), rng=random.Random(seed)
    )
    if as_unit:
        from medoffice.core import audit
        from medoffice.core.models import AuditAction

        scope = audit.unit(
            AuditAction.CREATE, actor=DEMO_ACTOR, what="core.demo",
            description=f"demo practice loaded (seed {seed}, {size})",
            counts={"seed": seed, "size": size},
        )  # fmt: skip
    else:
        scope = acting_as(DEMO_ACTOR)
    with transaction.atomic(), scope:
        for step in demo_steps():
            if only is not None and step.name not in only:
                continue
            ctx.rng = random.Random(f"{seed}:{step.name}")
            started = time.perf_counter()
            step.fn(ctx)
            seconds[step.name] = time.perf_counter() - started
            if step.name == "foundation" and today is None:
                assert ctx.practice is not None  # the foundation step made it
                ctx.today = timezone.localdate(timezone=zoneinfo.ZoneInfo(ctx.practice.time_zone))
    assert ctx.practice is not None  # the foundation step always runs
    return DemoResult(
        seed=seed,
        size=size,
        practice=ctx.practice,
        logins=dict(ctx.logins),
        password=ctx.password,
        seconds=seconds,
        notes=list(ctx.shared.get("notes", [])),
    )


def existing_logins() -> list[str]:
    """The demo's sign-ins as they stand in a demo practice loaded earlier (one per role)."""
    present = dict(
        User.objects.filter(
            username__in=[login for login, _, _ in STAFF.values()], is_active=True
        ).values_list("username", "pk")
    )
    names = dict(Role.objects.values_list("code", "name"))
    lines = []
    for code in sorted(STAFF, key=ROLE_ORDER.__getitem__):
        login = STAFF[code][0]
        if login in present:
            lines.append(f"  {names.get(code, code):<18} {login}")
    return lines


# --- The foundation step: practice, locations, providers, staff -----------------------------

ROLE_ORDER = {code: n for n, code in enumerate(ROLE_CODES)}
# role code -> (login of the first user, how many users, job title)
STAFF = {
    "owner": ("owner", 1, "Owner physician"),
    "manager": ("manager", 1, "Office manager"),
    "front_desk": ("frontdesk", 9, "Front desk"),
    "biller": ("biller", 3, "Biller / coder"),
    "hr_payroll": ("hr", 2, "HR and payroll"),
    "clinician": ("clinician", 7, "Clinician"),
    "medical_assistant": ("ma", 3, "Medical assistant"),
    "auditor": ("auditor", 2, "Compliance auditor"),
}
FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Ethan", "Harper", "Daniel", "Evelyn", "Aiden", "Camila", "Henry",
    "Priya", "Wei", "Fatima", "Kwame", "Yuki", "Carlos", "Aaliyah", "Dmitri", "Nia", "Hassan",
)  # fmt: skip
LAST_NAMES = (
    "Reyes", "Nguyen", "Patel", "Okafor", "Kowalski", "Johansson", "Haddad", "Brennan", "Castillo",
    "Ferreira", "Lindqvist", "Mbeki", "Sato", "Delgado", "Whitaker", "Abernathy", "Rosen",
    "Galloway", "Ishikawa", "Moreau", "Oyelaran", "Petrov", "Quintero", "Sandoval", "Thornton",
)  # fmt: skip
# (city, state, ZIP prefix, time zone, street names): invented towns, real state codes.
TOWNS = (
    ("Maple Falls", "IL", "617", "America/Chicago", ("Main St", "Prairie Ave", "Lakeview Dr")),
    ("Cedar Ridge", "OH", "452", "America/New_York", ("High St", "Riverside Rd", "Elm Ave")),
    ("Pine Hollow", "CO", "805", "America/Denver", ("Aspen Way", "Summit Blvd", "Creek Rd")),
)
LOCATION_NAMES = ("Main Street Office", "Northside Clinic", "Lakeview Clinic")
# (credentials, specialty, taxonomy)
PROVIDER_KINDS = (
    ("MD", "Family Medicine", "207Q00000X"),
    ("MD", "Internal Medicine", "207R00000X"),
    ("DO", "Family Medicine", "207Q00000X"),
    ("MD", "Pediatrics", "208000000X"),
    ("MD", "Cardiovascular Disease", "207RC0000X"),
    ("NP", "Family Nurse Practitioner", "363LF0000X"),
    ("PA-C", "Physician Assistant", "363A00000X"),
    ("MD", "Internal Medicine", "207R00000X"),
)


def npi_check_digit(first_nine: str) -> str:
    """The check digit that makes a 9-digit base a valid NPI (Luhn with prefix 80840)."""
    for digit in "0123456789":
        if npi_is_valid(first_nine + digit):
            return digit
    raise AssertionError("unreachable: one check digit always fits")


def make_npi(rng: random.Random, taken: set[str] | None = None) -> str:
    """A random valid NPI (first digit 1, as issued), unique within `taken` if given."""
    while True:
        base = "1" + "".join(rng.choice("0123456789") for _ in range(8))
        npi = base + npi_check_digit(base)
        if taken is None or npi not in taken:
            if taken is not None:
                taken.add(npi)
            return npi


def _phone(rng: random.Random) -> str:
    # 555-01xx numbers are reserved for fiction.
    return f"+1{rng.randint(201, 989)}55501{rng.randint(0, 99):02d}"


def _foundation(ctx: DemoContext) -> None:
    rng = ctx.rng
    city, state, zip_prefix, tz, streets = rng.choice(TOWNS)
    family = rng.choice(LAST_NAMES)
    npis: set[str] = set()
    practice = Practice.objects.create(
        legal_name=f"{city} Family Medicine Associates, PLLC",
        tax_id=f"{rng.randint(10, 98)}-{rng.randint(1000000, 9999999)}",
        group_npi=make_npi(rng, npis),
        address_line1=f"{rng.randint(100, 990)} {streets[0]}",
        city=city,
        state=state,
        zip_code=f"{zip_prefix}{rng.randint(10, 99)}-4100",  # ZIP+4: the 837P's billing address
        # Payers mail checks to the practice's lockbox, not its office (the 837P's pay-to).
        pay_to_address_line1="PO Box 4410",
        pay_to_city=city,
        pay_to_state=state,
        pay_to_zip_code=f"{zip_prefix}90-4410",
        phone=_phone(rng),
        time_zone=tz,
        require_two_factor=False,
        is_demo=True,
    )
    locations = [
        Location.objects.create(
            practice=practice,
            name=name,
            address_line1=f"{rng.randint(10, 2999)} {streets[n]}",
            address_line2="Suite 100" if n == 0 else "",
            city=city,
            state=state,
            zip_code=f"{zip_prefix}{rng.randint(10, 99)}",
            phone=_phone(rng),
        )
        for n, name in enumerate(LOCATION_NAMES)
    ]
    used_names: set[tuple[str, str]] = set()

    def person() -> tuple[str, str]:
        while True:
            name = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            if name not in used_names and name[1] != family:
                used_names.add(name)
                return name

    providers = []
    for n, (credentials, specialty, taxonomy) in enumerate(PROVIDER_KINDS):
        first, last = (rng.choice(FIRST_NAMES), family) if n == 0 else person()
        used_names.add((first, last))
        provider = Provider.objects.create(
            practice=practice,
            first_name=first,
            last_name=last,
            credentials=credentials,
            npi=make_npi(rng, npis),
            taxonomy=taxonomy,
            specialty=specialty,
        )
        # Everyone works at the main office or one clinic; some at two places.
        where = {locations[n % len(locations)]}
        if rng.random() < 0.4:
            where.add(rng.choice(locations))
        places: list[Location] = sorted(where, key=lambda loc: loc.name)
        provider.locations.set(places)
        providers.append(provider)

    roles = {role.code: role for role in Role.objects.all()}
    missing = set(STAFF) - set(roles)
    if missing:
        raise InvalidInput(f"The roles {', '.join(sorted(missing))} are missing: run migrate.")
    password_hash = make_password(ctx.password)  # hashed once: every demo login shares it
    clinicians = iter(providers[1:])
    users: dict[str, list[User]] = {}
    taken: set[str] = set()
    for code, (login, how_many, title) in STAFF.items():
        users[code] = []
        for n in range(how_many):
            if code == "owner":
                first, last = providers[0].first_name, providers[0].last_name
            elif code == "clinician":
                linked = next(clinicians)
                first, last = linked.first_name, linked.last_name
            else:
                first, last = person()
            username = login if n == 0 else f"{first[0]}{last}".lower()
            while username in taken:
                username += str(rng.randint(2, 9))
            taken.add(username)
            user = User.objects.create(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@example.com",
                title=title,
                password=password_hash,
            )
            user.roles.set([roles[code]])
            if code in ("owner", "clinician"):
                provider = providers[0] if code == "owner" else linked
                provider.user = user
                provider.save(update_fields=["user"])
            users[code].append(user)
        ctx.logins[code] = users[code][0].username
    ctx.practice = practice
    ctx.locations = locations
    ctx.providers = providers
    ctx.users = users


register_demo_step("foundation", _foundation, order=0)


# --- The approvals step: a few decisions over someone's authority, waiting --------------------

DEMO_APPROVALS = (  # (role asking, kind, amount, what)
    ("manager", "purchase", "7450.00", "Exam table for room 3 (the old one's lift failed)"),
    ("manager", "write_off", "1280.00", "Balance of a patient in financial hardship (3 visits)"),
    ("front_desk", "refund", "85.00", "Copay charged twice at check-in (card)"),
    ("manager", "vendor_bill", "12600.00", "Annual EHR subscription renewal"),
)


def _approvals(ctx: DemoContext) -> None:
    """Seed the approvals queue, so the owner sees what it is for."""
    from decimal import Decimal

    from medoffice.core.services import approval_request

    for role, kind, amount, what in DEMO_APPROVALS:
        asking = ctx.user(role)
        approval_request(kind=kind, amount=Decimal(amount), description=what, requested_by=asking)


register_demo_step("approvals", _approvals, order=40)
