"""837P batches from the database: claims per second writing one batch of 10,000 ready
claims (target: at least 5,000 claims/s on SQLite). Two figures: the file alone (reading the
claims with their lines and diagnoses, serializing), and the whole `batch_build` (also
taking the claims, recording the batch and the claims' history; without the re-scrub it starts
with, which `bench_scrubber` measures)."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

CLAIMS = 10_000
PATIENTS = 500


def _seed() -> None:
    from medoffice.claims.models import (
        Claim,
        ClaimDiagnosis,
        ClaimLine,
        ClaimStatus,
        Encounter,
        EncounterDiagnosis,
        ServiceLine,
    )
    from medoffice.core.models import Practice
    from medoffice.patients.models import Coverage, Patient
    from medoffice.testing import factories, patients_factories

    rng = random.Random(837)
    factories.practice()
    Practice.objects.update(phone="+12175550100")
    location = factories.location()
    providers = [factories.provider() for _ in range(5)]
    payers = [patients_factories.payer() for _ in range(4)]
    patients = Patient.objects.bulk_create(
        Patient(
            mrn=f"B{n:07d}",
            first_name="Pat",
            last_name=f"Bench{n}",
            date_of_birth=date(1950, 1, 1) + timedelta(days=n * 37),
            sex="MF"[n % 2],
            address_line1=f"{n} Elm St",
            city="Springfield",
            state="IL",
            zip_code="62704",
        )
        for n in range(PATIENTS)
    )
    coverages = Coverage.objects.bulk_create(
        Coverage(
            patient=patient,
            payer=payers[n % len(payers)],
            member_id=f"M{n:08d}",
            group_number="G1",
            effective_date=date(2020, 1, 1),
            priority=1,
        )
        for n, patient in enumerate(patients)
    )
    encounters = Encounter.objects.bulk_create(
        Encounter(
            patient=coverages[n % PATIENTS].patient,
            location=location,
            rendering_provider=providers[n % len(providers)],
            date_of_service=date(2026, 10, 1) + timedelta(days=n % 45),
            place_of_service="11",
            status="ready",
        )
        for n in range(CLAIMS)
    )
    EncounterDiagnosis.objects.bulk_create(
        EncounterDiagnosis(encounter=encounter, rank=rank, code=code)
        for encounter in encounters
        for rank, code in enumerate(("E11.9", "I10", "Z00.00"), start=1)
    )
    services = ServiceLine.objects.bulk_create(
        ServiceLine(
            encounter=encounter,
            line_number=line,
            code=("99213", "93000", "36415")[line - 1],
            units=1,
            charge_cents=rng.randrange(2000, 30000),
            diagnosis_pointers=[1, line],
        )
        for encounter in encounters
        for line in (1, 2, 3)[: 1 + encounter.pk % 3]
    )
    by_encounter: dict[int, list[ServiceLine]] = {}
    for service in services:
        by_encounter.setdefault(service.encounter_id, []).append(service)
    claims = Claim.objects.bulk_create(
        Claim(
            encounter=encounter,
            coverage=coverages[n % PATIENTS],
            payer=payers[n % len(payers)],
            control_number=f"B{n:09d}",
            status=ClaimStatus.READY,
            total_charge_cents=sum(s.charge_cents for s in by_encounter[encounter.pk]),
        )
        for n, encounter in enumerate(encounters)
    )
    ClaimLine.objects.bulk_create(
        ClaimLine(
            claim=claim,
            service_line=service,
            line_number=service.line_number,
            code=service.code,
            modifiers=[],
            units=service.units,
            charge_cents=service.charge_cents,
            diagnosis_pointers=service.diagnosis_pointers,
        )
        for claim in claims
        for service in by_encounter[claim.encounter_id]
    )
    ClaimDiagnosis.objects.bulk_create(
        ClaimDiagnosis(claim=claim, rank=rank, code=code)
        for claim in claims
        for rank, code in enumerate(("E11.9", "I10", "Z00.00"), start=1)
    )


def run() -> list[tuple[str, float, str]]:
    from django.utils import timezone

    from medoffice.claims import batches
    from medoffice.claims.models import Claim
    from medoffice.core.context import SYSTEM, acting_as
    from medoffice.testing import factories

    with acting_as(SYSTEM):
        _seed()
        exchange = batches.practice_exchange(receiver_id="RCV01")
        started = time.perf_counter()
        claims = Claim.objects.all()
        content = batches.write_837p(
            claims, exchange, interchange_number=1, group_number=1,
            created=timezone.localtime(), reference="1",
        )  # fmt: skip
        file_only = time.perf_counter() - started
        biller = factories.user("biller")
        started = time.perf_counter()
        # The claims here are not meant to pass the scrubber (no code tables are loaded): the
        # re-scrub a batch starts with is the scrubber bench's figure, left out of this one.
        batch = batches.batch_build(actor=biller, exchange=exchange, rescrub=False)
        whole = time.perf_counter() - started
    assert batch.claim_count == CLAIMS
    return [
        ("batch_837p_file_claims_per_s", CLAIMS / file_only, "claims/s"),
        ("batch_837p_build_claims_per_s", CLAIMS / whole, "claims/s"),
        ("batch_837p_file_mb", len(content) / 1e6, "MB"),
    ]
