"""Claims built straight in the database for tests: an encounter, its diagnoses and lines,
and a claim copying them, diagnoses and lines (the services' own rules are tested where they
live)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from medoffice.claims.models import (
    Claim,
    ClaimDiagnosis,
    ClaimLine,
    Encounter,
    EncounterDiagnosis,
    ServiceLine,
)
from medoffice.testing import factories, patients_factories

_numbers = itertools.count(42)
DIAGNOSES = ("E11.9", "I10", "Z00.00")
SERVICE_DAYS_AGO = 60  # well inside the payer's two-year filing limit, whenever tests run


def service_day(today: date | None = None) -> date:
    """The date of service of the claims built here: 60 days before `today` (the practice's
    today unless given), so a claim scrubbed today is neither late nor near its limit."""
    from medoffice.claims.selectors import practice_today

    return (today or practice_today()) - timedelta(days=SERVICE_DAYS_AGO)


def _codes_billed() -> None:
    """The codes these claims bill, so that the scrubber (which a batch runs first) passes."""
    from medoffice.coding.models import Modifier, ProcedureCode
    from medoffice.testing import claims_factories

    missing = {"99213", "J3420"} - set(
        ProcedureCode.objects.filter(code__in=("99213", "J3420")).values_list("code", flat=True)
    )
    if missing:
        claims_factories.procedure_codes(sorted(missing))
    if not Modifier.objects.filter(code="25").exists():
        claims_factories.modifier("25", ncci_bypass=True)


def _charge(n: int, day: date) -> int:
    """Line n's charge: the practice's fee schedule's when it has a fee for the code (so the
    scrubber finds nothing to say about it), else $100.00 plus n - 1 cents."""
    from medoffice.coding.pricing import fee_cents

    code, modifiers = ("99213", ["25"]) if n == 1 else ("J3420", [])
    fee = fee_cents(code, modifiers, day)
    return 10000 + n - 1 if fee is None else fee * n


def make_claim(
    lines: int = 2, *, coverage=None, date_of_service: date | None = None, **claim_fields
) -> Claim:
    """A claim of `lines` lines (the first 99213-25, the others a drug with its NDC) that the
    scrubber passes today: its date of service is `service_day()` unless given (the payer's
    filing limit is two years)."""
    _codes_billed()
    if coverage is None:
        patient = patients_factories.patient(
            first_name="Jane", last_name="Doe", middle_name="Quinn",
            date_of_birth=date(1980, 1, 2), address_line1="12 Elm St", city="Springfield",
            state="IL", zip_code="62704",
        )  # fmt: skip
        coverage = patients_factories.coverage(
            patient=patient,
            member_id="XYZ123456",
            group_number="GRP77",
            plan_name="Gold PPO",
            payer=patients_factories.payer(timely_filing_days=730),
        )
    patient = coverage.patient
    encounter = Encounter.objects.create(
        patient=patient,
        location=factories.location(),
        rendering_provider=factories.provider(first_name="Ann", last_name="Lee"),
        referring_provider_name="Ray Smith",
        referring_provider_npi="1234567893",
        date_of_service=date_of_service or service_day(),
        place_of_service="11",
        prior_authorization="PA998",
    )
    for rank, code in enumerate(DIAGNOSES, start=1):
        EncounterDiagnosis.objects.create(encounter=encounter, rank=rank, code=code)
    charges = [_charge(n, encounter.date_of_service) for n in range(1, lines + 1)]
    claim = Claim.objects.create(
        encounter=encounter,
        coverage=coverage,
        payer=coverage.payer,
        control_number=claim_fields.pop("control_number", f"RFM{next(_numbers):07d}"),
        total_charge_cents=sum(charges),
        **claim_fields,
    )
    for rank, code in enumerate(DIAGNOSES, start=1):
        ClaimDiagnosis.objects.create(claim=claim, rank=rank, code=code)
    for n in range(1, lines + 1):
        service = ServiceLine.objects.create(
            encounter=encounter, line_number=n, code="99213" if n == 1 else "J3420",
            modifiers=["25"] if n == 1 else [], units=n, charge_cents=charges[n - 1],
            diagnosis_pointers=[1, 2] if n == 1 else [3],
            ndc="" if n == 1 else "00409488201", ndc_quantity=None if n == 1 else Decimal("1.5"),
            ndc_unit="" if n == 1 else "ML",
        )  # fmt: skip
        ClaimLine.objects.create(
            claim=claim, service_line=service, line_number=n, code=service.code,
            modifiers=service.modifiers, units=service.units, charge_cents=service.charge_cents,
            diagnosis_pointers=service.diagnosis_pointers, ndc=service.ndc,
            ndc_quantity=service.ndc_quantity, ndc_unit=service.ndc_unit,
        )  # fmt: skip
    return claim
