"""The small procedure-code tables the claims tests code with: a few CPT and HCPCS codes (one
retired), modifiers, places of service and the practice's fees. Shared by the claims tests'
`code_tables` fixture and the browser tests."""

from __future__ import annotations

from datetime import date

from medoffice.coding.models import (
    CodeSetKind,
    CodeSetRelease,
    Fee,
    Modifier,
    PlaceOfService,
    ProcedureCode,
)

CODE_START = date(2020, 1, 1)


def make_code_tables() -> CodeSetRelease:
    """Procedure codes 99213, 99214, 36415, 90471, J3301 (and 99999 retired in 2021),
    modifiers 25, 59, RT, LT, places of service 11 and 22, and fees for 99213 ($125), 99214
    ($180), 36415 ($15), 90471 ($30)."""
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
