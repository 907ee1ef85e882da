"""The claim scrubber over 10,000 claims on SQLite (target: under 2 s).

The claims (2,500 patients, four visits each, two or three lines per claim, one in ten with a
problem: a pointer out of range, an NCCI pair without its modifier, units over the MUE, an
unknown code) are bulk-created; the code sets hold 200 procedure codes, 2,000 NCCI pairs and
200 MUEs. `scrubber_10k_first_seconds` is `scrub_claims` over all of them from draft (every
claim moves, with its history event and findings); `scrubber_10k_again_seconds` scrubs them
again (the findings replaced, no status to change). The `_cpu` figures are this process's CPU
seconds (SQLite runs in-process), which a busy shared machine does not inflate;
`scrubber_machine_load_average` says how busy it was. ICD-10-CM's index (coding.selectors),
built once per process on its first lookup, is timed apart
(`scrubber_icd10_index_first_load_seconds`).
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import date, timedelta

CLAIMS = 10_000
VISITS = 4
DAY = date(2026, 6, 1)


def _code_sets() -> list[str]:
    from medoffice.coding.models import (
        CodeSetKind,
        CodeSetRelease,
        CodeSystem,
        Modifier,
        MueEdit,
        ProcedureCode,
        PtpEdit,
    )

    def release(kind: str) -> CodeSetRelease:
        return CodeSetRelease.objects.create(
            kind=kind, label="bench", effective_date=date(2024, 1, 1), source_name="bench",
            sha256=hashlib.sha256(kind.encode()).hexdigest(),
        )  # fmt: skip

    codes = [f"9{n:04d}" for n in range(200)]
    cpt = release(CodeSetKind.CPT)
    ProcedureCode.objects.bulk_create(
        ProcedureCode(system=CodeSystem.CPT, code=code, effective_date=date(2020, 1, 1),
                      release=cpt)
        for code in codes
    )  # fmt: skip
    Modifier.objects.bulk_create([
        Modifier(code="25", description="Significant E/M"),
        Modifier(code="59", description="Distinct procedural service", ncci_bypass=True),
    ])  # fmt: skip
    ptp = release(CodeSetKind.NCCI_PTP)
    PtpEdit.objects.bulk_create(
        PtpEdit(column1=codes[n % 200], column2=codes[(n * 7 + 3) % 200],
                modifier_indicator="1" if n % 3 else "0", effective_date=date(2024, 1, 1),
                release=ptp)
        for n in range(2000)
    )  # fmt: skip
    mue = release(CodeSetKind.NCCI_MUE)
    MueEdit.objects.bulk_create(
        MueEdit(code=code, max_units=4, adjudication_indicator="3", release=mue) for code in codes
    )
    return codes


def _claims(codes: list[str]) -> list[int]:
    from medoffice.claims.models import (
        Claim,
        ClaimDiagnosis,
        ClaimLine,
        Encounter,
        EncounterDiagnosis,
        EncounterStatus,
        ServiceLine,
    )
    from medoffice.patients.models import Coverage, Patient
    from medoffice.testing import factories, patients_factories

    location = factories.location()
    providers = [factories.provider() for _ in range(10)]
    payers = [patients_factories.payer() for _ in range(5)]
    count = CLAIMS // VISITS
    patients = Patient.objects.bulk_create(
        Patient(mrn=f"B{n:07d}", first_name="Bench", last_name=f"Patient{n}",
                date_of_birth=date(1970, 1, 1) + timedelta(days=n), sex="F",
                address_line1=f"{n} Main St", city="Springfield", state="IL", zip_code="62701")
        for n in range(count)
    )  # fmt: skip
    coverages = Coverage.objects.bulk_create(
        Coverage(patient=p, payer=payers[n % 5], member_id=f"M{n:08d}",
                 effective_date=date(2020, 1, 1))
        for n, p in enumerate(patients)
    )  # fmt: skip
    encounters = Encounter.objects.bulk_create(
        Encounter(patient=patients[n // VISITS], location=location,
                  rendering_provider=providers[n % 10],
                  date_of_service=DAY + timedelta(days=7 * (n % VISITS)), place_of_service="11",
                  status=EncounterStatus.READY)
        for n in range(CLAIMS)
    )  # fmt: skip
    EncounterDiagnosis.objects.bulk_create(
        EncounterDiagnosis(encounter=e, rank=rank, code=code)
        for e in encounters
        for rank, code in ((1, "E11.9"), (2, "I10"))
    )
    lines: list[ServiceLine] = []
    for n, e in enumerate(encounters):
        broken = n % 10 == 0
        kinds = (n // 10) % 4
        first, second = codes[n % 200], codes[(n * 13 + 5) % 200]
        if broken and kinds == 1:  # a bundled pair (column 2 with column 1) without a modifier
            first, second = codes[n % 200], codes[((n % 200) * 7 + 3) % 200]
        lines.append(ServiceLine(encounter=e, line_number=1, code="99999" if broken and kinds == 3
                                 else first, units=1, charge_cents=12_500,
                                 diagnosis_pointers=[1]))  # fmt: skip
        lines.append(ServiceLine(encounter=e, line_number=2, code=second,
                                 units=6 if broken and kinds == 2 else 1, charge_cents=8_000,
                                 diagnosis_pointers=[3] if broken and kinds == 0 else [2]))  # fmt: skip
        if n % 2:
            lines.append(ServiceLine(encounter=e, line_number=3, code=codes[(n + 50) % 200],
                                     modifiers=["59"], units=1, charge_cents=3_000,
                                     diagnosis_pointers=[1, 2]))  # fmt: skip
    lines = ServiceLine.objects.bulk_create(lines, batch_size=5000)
    by_encounter: dict[int, list[ServiceLine]] = {}
    for line in lines:
        by_encounter.setdefault(line.encounter_id, []).append(line)
    claims = Claim.objects.bulk_create(
        (
            Claim(encounter=e, coverage=coverages[n // VISITS], payer_id=coverages[n // VISITS].payer_id,
                  control_number=f"BENCH{n:010d}",
                  total_charge_cents=sum(x.charge_cents for x in by_encounter[e.pk]))
            for n, e in enumerate(encounters)
        ),
        batch_size=5000,
    )  # fmt: skip
    ClaimLine.objects.bulk_create(
        (
            ClaimLine(claim=c, service_line=x, line_number=x.line_number, code=x.code,
                      modifiers=x.modifiers, units=x.units, charge_cents=x.charge_cents,
                      diagnosis_pointers=x.diagnosis_pointers)
            for c in claims
            for x in by_encounter[c.encounter_id]
        ),
        batch_size=5000,
    )  # fmt: skip
    ClaimDiagnosis.objects.bulk_create(
        (ClaimDiagnosis(claim=c, rank=rank, code=code)
         for c in claims for rank, code in ((1, "E11.9"), (2, "I10"))),
        batch_size=5000,
    )  # fmt: skip
    return [c.pk for c in claims]


def run() -> list[tuple[str, float, str]]:
    from medoffice.claims.models import ClaimStatus, ScrubFinding
    from medoffice.claims.scrubber import scrub_claims
    from medoffice.coding.selectors import icd10_lookup
    from medoffice.core.capture import quietly
    from medoffice.testing import factories

    factories.practice()
    biller = factories.user("biller")
    with quietly():  # the bench's data is set up without an audit event per bulk write
        ids = _claims(_code_sets())
    today = DAY + timedelta(days=30)
    # ICD-10-CM's index is built once per process, on its first lookup (a server has it): it
    # is timed on its own, not in the scrub.
    started, cpu = time.perf_counter(), time.process_time()
    icd10_lookup("E11.9")
    index, index_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    results = scrub_claims(ids, actor=biller, today=today)
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    held = sum(1 for r in results if r.status == ClaimStatus.SCRUB_ERRORS)
    started, cpu = time.perf_counter(), time.process_time()
    scrub_claims(ids, actor=biller, today=today)
    again, again_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(results) == CLAIMS, len(results)
    return [
        ("scrubber_10k_first_seconds", first, "s"),
        ("scrubber_10k_first_cpu_seconds", first_cpu, "s"),
        ("scrubber_10k_again_seconds", again, "s"),
        ("scrubber_10k_again_cpu_seconds", again_cpu, "s"),
        ("scrubber_icd10_index_first_load_seconds", index, "s"),
        ("scrubber_icd10_index_first_load_cpu_seconds", index_cpu, "s"),
        ("scrubber_machine_load_average", os.getloadavg()[0], "runnable"),
        ("scrubber_claims_per_second", CLAIMS / first, "claims/s"),
        ("scrubber_held_claims", held, "claims"),
        ("scrubber_findings", ScrubFinding.objects.count(), "findings"),
    ]
