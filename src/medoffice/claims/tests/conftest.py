"""What the encounter tests need: a clinic, a patient, and the code-table rows they code with
(the coding app's lookups read them from the database like any practice's tables)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

CODE_START = date(2020, 1, 1)


def _stand_ins_for_coding_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the coding app's lookups land on this branch (`coding.selectors`' icd10_lookup,
    procedure_on, modifier, place_of_service; `coding.pricing.fee_cents`), plain readers of the
    same tables stand in for them; once they exist these are not installed."""
    import simple_icd_10_cm as icd

    from medoffice.coding import selectors
    from medoffice.coding.models import Fee, Modifier, PlaceOfService, ProcedureCode

    def icd10_lookup(code: str) -> Any:
        if not icd.is_valid_item(code):
            return None
        return {"code": icd.add_dot(icd.remove_dot(code)), "billable": icd.is_leaf(code)}

    def procedure_on(code: str, day: date) -> Any:
        return (
            ProcedureCode.objects.filter(code=code)
            .exclude(effective_date__gt=day)
            .exclude(termination_date__lt=day)
            .first()
        )

    stand_ins = {
        "icd10_lookup": icd10_lookup,
        "procedure_on": procedure_on,
        "modifier": lambda code: Modifier.objects.filter(code=code).first(),
        "place_of_service": lambda code: PlaceOfService.objects.filter(code=code).first(),
    }
    for name, function in stand_ins.items():
        if not hasattr(selectors, name):
            monkeypatch.setattr(selectors, name, function, raising=False)
    try:
        import medoffice.coding.pricing  # noqa: F401
    except ImportError:
        pricing = types.ModuleType("medoffice.coding.pricing")

        def fee_cents(code: str, modifiers: list[str], day: date) -> int | None:
            for modifier in [*(modifiers[:1]), ""]:
                fee = (
                    Fee.objects.filter(code=code, modifier=modifier, effective_from__lte=day)
                    .exclude(effective_to__lt=day)
                    .order_by("-effective_from")
                    .first()
                )
                if fee is not None:
                    return fee.charge_cents
            return None

        pricing.fee_cents = fee_cents  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "medoffice.coding.pricing", pricing)
        import medoffice.coding

        monkeypatch.setattr(medoffice.coding, "pricing", pricing, raising=False)


@dataclass
class Office:
    location: Any
    provider: Any  # Dr Able: the clinician user's provider
    other_provider: Any
    patient: Any
    day: date


@pytest.fixture
def code_tables(db, monkeypatch):
    """Procedure codes 99213, 99214, 36415, 90471, J3301 (and 99999 retired in 2021),
    modifiers 25, 59, RT, LT, places of service 11 and 22, and fees for 99213 ($125), 99214
    ($180), 36415 ($15), 90471 ($30)."""
    from medoffice.coding.models import (
        CodeSetKind,
        CodeSetRelease,
        Fee,
        Modifier,
        PlaceOfService,
        ProcedureCode,
    )

    _stand_ins_for_coding_lookups(monkeypatch)
    release = CodeSetRelease.objects.create(
        kind=CodeSetKind.CPT, label="test", effective_date=CODE_START, source_name="tests",
        sha256="0" * 64,
    )  # fmt: skip
    for code, words in [("99213", "Office visit, est, low"), ("99214", "Office visit, est, mod"),
                        ("36415", "Venipuncture"), ("90471", "Immunization admin"),
                        ("J3301", "Triamcinolone 10 mg")]:  # fmt: skip
        ProcedureCode.objects.create(
            system="HCPCS" if code[0].isalpha() else "CPT", code=code, short_description=words,
            effective_date=CODE_START, release=release,
        )  # fmt: skip
    ProcedureCode.objects.create(
        system="CPT", code="99999", short_description="Retired", effective_date=CODE_START,
        termination_date=date(2021, 12, 31), release=release,
    )  # fmt: skip
    for code, words in [("25", "Significant, separately identifiable E/M"),
                        ("59", "Distinct procedural service"), ("RT", "Right side"),
                        ("LT", "Left side")]:  # fmt: skip
        Modifier.objects.create(code=code, description=words)
    PlaceOfService.objects.create(code="11", name="Office")
    PlaceOfService.objects.create(code="22", name="On campus-outpatient hospital", is_facility=True)
    for code, cents in [("99213", 12500), ("99214", 18000), ("36415", 1500), ("90471", 3000)]:
        Fee.objects.create(code=code, charge_cents=cents, effective_from=CODE_START)
    return release


@pytest.fixture
def office(db, practice, users, code_tables) -> Office:
    main = factories.location(name="Main St")
    dr_a = factories.provider(
        first_name="Ann", last_name="Able", locations=[main], user=users["clinician"]
    )
    dr_b = factories.provider(first_name="Ben", last_name="Baker", locations=[main])
    from medoffice.claims.selectors import practice_today

    return Office(
        location=main, provider=dr_a, other_provider=dr_b, patient=pf.patient(),
        day=practice_today() - timedelta(days=1),
    )  # fmt: skip
