"""Factories for encounters, claims and the code-set rows the scrubber reads.

Valid by default (a clean claim passes every scrubber edit), every field overridable.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from datetime import date

from medoffice.claims.models import (
    Encounter,
    EncounterDiagnosis,
    EncounterStatus,
    ServiceLine,
)
from medoffice.coding.models import (
    CodeSetKind,
    CodeSetRelease,
    CodeSystem,
    Modifier,
    ProcedureCode,
)
from medoffice.patients.models import Coverage, Patient
from medoffice.testing import factories, patients_factories

_counter = itertools.count(1)
DEFAULT_DAY = date(2026, 10, 15)


def release(kind: str = CodeSetKind.CPT, **fields) -> CodeSetRelease:
    n = next(_counter)
    values = {
        "kind": kind,
        "label": f"test {n}",
        "effective_date": date(2024, 1, 1),
        "source_name": f"test-{n}.csv",
        "sha256": hashlib.sha256(f"release-{n}".encode()).hexdigest(),
    }
    values.update(fields)
    return CodeSetRelease.objects.create(**values)


def procedure_codes(codes: Iterable[str], **fields) -> list[ProcedureCode]:
    """Procedure codes billable from 2020 (CPT), one release for them all."""
    made_release = release(CodeSetKind.CPT)
    made = []
    for code in codes:
        values = {
            "system": CodeSystem.CPT,
            "code": code,
            "short_description": f"Service {code}",
            "effective_date": date(2020, 1, 1),
            "release": made_release,
        }
        values.update(fields)
        made.append(ProcedureCode.objects.create(**values))
    return made


def modifier(code: str, **fields) -> Modifier:
    values = {"code": code, "description": f"Modifier {code}"}
    values.update(fields)
    return Modifier.objects.create(**values)


def patient(**fields) -> Patient:
    values = {
        "address_line1": "12 Elm St",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62704",
    }
    values.update(fields)
    return patients_factories.patient(**values)


def coverage(patient_: Patient, **fields) -> Coverage:
    return patients_factories.coverage(patient=patient_, **fields)


def encounter(
    *,
    diagnoses: Iterable[str] = ("E11.9",),
    lines: Iterable[dict] = ({"code": "99213"},),
    with_coverage: bool = True,
    **fields,
) -> Encounter:
    """A ready encounter (its patient with a primary coverage) with diagnoses and lines."""
    values = {
        "date_of_service": DEFAULT_DAY,
        "place_of_service": "11",
        "status": EncounterStatus.READY,
    }
    values.update(fields)
    if "patient" not in values:
        values["patient"] = patient()
    if "location" not in values:
        values["location"] = factories.location()
    if "rendering_provider" not in values:
        values["rendering_provider"] = factories.provider()
    patient_ = values["patient"]
    assert isinstance(patient_, Patient)
    if with_coverage and not Coverage.objects.filter(patient=patient_).exists():
        coverage(patient_)
    made = Encounter.objects.create(**values)
    for rank, code in enumerate(diagnoses, start=1):
        EncounterDiagnosis.objects.create(encounter=made, rank=rank, code=code)
    for number, line in enumerate(lines, start=1):
        line_values = {
            "line_number": number,
            "modifiers": [],
            "units": 1,
            "charge_cents": 12_500,
            "diagnosis_pointers": [1],
        }
        line_values.update(line)
        ServiceLine.objects.create(encounter=made, **line_values)
    return made
