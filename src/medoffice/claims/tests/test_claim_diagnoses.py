"""A claim keeps the diagnoses it billed: a visit recoded after its claim was sent changes
neither that claim's scrub, nor its 837P, nor its CMS-1500, nor its page; a void carries the
diagnoses of the claim it voids, a replacement and the rebuild of a rejected claim those of
the corrected visit.

The visits are coded, finalized, reopened and recoded through the encounter services, the
claims built, sent and changed through the claim services, on the real database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from medoffice.claims import batches, cms1500
from medoffice.claims import claims_services as services
from medoffice.claims import encounters as svc
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import Claim, ClaimDiagnosis, ClaimStatus, EncounterDiagnosis
from medoffice.claims.scrubber import load, scrub, scrub_claims
from medoffice.claims.tests.test_cms1500 import placed
from medoffice.core.models import Practice
from medoffice.testing import patients_factories as pf
from medoffice.testing.claim_builders import make_claim
from medoffice.x12 import read
from medoffice.x12.tests.test_professional_claim_writer import _pyx12_errors
from medoffice.x12.transactions.professional_claim import ProfessionalClaims

BILLED = ["E11.9", "I10"]
RECODED = ["J06.9"]


def _coded(users, encounter, diagnoses, lines) -> None:
    biller = users["biller"]
    svc.encounter_code(actor=biller, encounter_id=encounter.pk, diagnoses=diagnoses, lines=lines)
    svc.encounter_mark_coded(actor=biller, encounter_id=encounter.pk)
    svc.encounter_finalize(actor=biller, encounter_id=encounter.pk)
    encounter.refresh_from_db()


def _billed_visit(office, users, *, rejected: bool = False) -> Claim:
    """A visit coded E11.9 and I10 (the second line points at I10), its claim built and
    sent and accepted (or rejected), with the payer's claim number."""
    biller = users["biller"]
    patient = office.patient
    patient.address_line1, patient.city, patient.state, patient.zip_code = (
        "12 Elm St", "Springfield", "IL", "62704",
    )  # fmt: skip
    patient.save()
    pf.coverage(patient=patient, effective_date=office.day - timedelta(days=30))
    encounter = svc.encounter_create(
        actor=biller, patient=patient, location=office.location,
        rendering_provider=office.provider, date_of_service=office.day,
    )  # fmt: skip
    _coded(users, encounter, BILLED,
           [LineInput("99213", pointers=[1, 2]), LineInput("36415", pointers=[2])])  # fmt: skip
    claim = services.claim_build(actor=biller, encounter=encounter)
    path = ["ready", "batched", "submitted", "rejected" if rejected else "accepted"]
    for status in path:
        services.claim_set_status(actor=biller, claim=claim, to=status)
    services.claim_record_payer_number(actor=biller, claim=claim, number="PCN-8842")
    return claim


def _recode(office, users, claim: Claim) -> None:
    """The visit reopened and recoded: one diagnosis now, one line pointing at it."""
    encounter = claim.encounter
    svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="Recoded")
    _coded(users, encounter, RECODED, [LineInput("99214", pointers=[1])])
    assert (
        list(EncounterDiagnosis.objects.filter(encounter=encounter).values_list("code", flat=True))
        == RECODED
    )


def _codes(claim: Claim) -> list[str]:
    return list(
        ClaimDiagnosis.objects.filter(claim=claim).order_by("rank").values_list("code", flat=True)
    )


def _hi(content: bytes, control_number: str) -> list[tuple[str, str]]:
    (transaction,) = read(content).transactions()
    assert isinstance(transaction.data, ProfessionalClaims)
    (billed,) = [c for c in transaction.data.claims() if c.claim_id == control_number]
    return [(d.qualifier, d.code) for d in billed.diagnoses]


def _exchange():
    Practice.objects.update(phone="+12175550100")
    return batches.practice_exchange(receiver_id="RCV01", usage="T")


@pytest.mark.django_db
def test_a_claim_sent_before_the_visit_was_recoded_keeps_its_diagnoses(
    office, users, client_for, tmp_path
):
    claim = _billed_visit(office, users)
    _recode(office, users, claim)
    today = office.day + timedelta(days=1)

    assert _codes(claim) == BILLED
    (facts,), _reference = load([claim.pk])
    assert facts.diagnoses == BILLED
    assert scrub(claim, today) == []  # pointer 2 is I10, as billed: nothing out of range

    # The 837P (the writer's value queries): HI is what was billed, and pyx12 takes the file.
    content = batches.write_837p(
        Claim.objects.filter(pk=claim.pk), _exchange(), interchange_number=901,
        group_number=901, created=timezone.localtime(), reference="000000901",
    )  # fmt: skip
    assert _hi(content, claim.control_number) == [("ABK", "E119"), ("ABF", "I10")]
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert valid and problems == []

    # The CMS-1500: box 21 and the lines' pointers as billed.
    (page,) = placed(cms1500.render(cms1500.form_for_claim(claim)))
    assert [page[(38, 3)], page[(38, 16)]] == ["E119", "I10"]
    assert (38, 29) not in page and "J069" not in page.values()
    assert (page[(46, 25)], page[(46, 45)]) == ("99213", "AB")
    assert (page[(48, 25)], page[(48, 45)]) == ("36415", "B")

    # The claim's page and its API.
    html = client_for("biller").get(reverse("claims:claim_detail", args=[claim.pk])).content
    section = html.decode().split('id="claim-diagnoses"')[1].split("</ol>")[0]
    assert "<code>E11.9</code>" in section and "<code>I10</code>" in section
    assert "J06.9" not in section
    # only the note that the visit changed since names the recoded diagnosis
    changed = html.decode().split('id="visit-changed"')[1].split("</div>")[0]
    assert "J06.9" in changed
    assert html.decode().count("J06.9") == changed.count("J06.9")
    assert client_for("biller").get(f"/api/claims/{claim.pk}").json()["diagnoses"] == BILLED


@pytest.mark.django_db
def test_a_void_carries_the_diagnoses_of_the_claim_it_voids(office, users, tmp_path):
    claim = _billed_visit(office, users)
    _recode(office, users, claim)
    today = office.day + timedelta(days=1)
    void = services.claim_void(actor=users["biller"], claim=claim, reason="Wrong patient")
    assert _codes(void) == BILLED
    assert list(void.lines.values_list("code", "diagnosis_pointers")) == [
        ("99213", [1, 2]), ("36415", [2]),
    ]  # fmt: skip
    (result,) = scrub_claims([void.pk], actor=users["biller"], today=today)
    assert result.findings == [] and result.status == ClaimStatus.READY
    batch = batches.batch_build(actor=users["biller"], exchange=_exchange())
    content = bytes(batch.content)
    assert _hi(content, void.control_number) == [("ABK", "E119"), ("ABF", "I10")]
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert valid and problems == []


@pytest.mark.django_db
def test_a_replacement_carries_the_corrected_visits_diagnoses(office, users):
    claim = _billed_visit(office, users)
    _recode(office, users, claim)
    replacement = services.claim_replace(actor=users["biller"], claim=claim, reason="Recoded")
    assert _codes(replacement) == RECODED and _codes(claim) == BILLED
    assert list(replacement.lines.values_list("code", "diagnosis_pointers")) == [("99214", [1])]
    (result,) = scrub_claims([replacement.pk], actor=users["biller"],
                             today=office.day + timedelta(days=1))  # fmt: skip
    assert result.findings == []
    (page,) = placed(cms1500.render(cms1500.form_for_claim(replacement)))
    assert page[(38, 3)] == "J069" and (38, 16) not in page


@pytest.mark.django_db
def test_a_rejected_claim_is_rebuilt_with_the_corrected_visits_diagnoses(office, users):
    claim = _billed_visit(office, users, rejected=True)
    _recode(office, users, claim)
    rebuilt = services.claim_build(actor=users["biller"], encounter=claim.encounter)
    assert rebuilt.pk == claim.pk and rebuilt.status == ClaimStatus.DRAFT
    assert _codes(rebuilt) == RECODED
    assert ClaimDiagnosis.objects.filter(claim=rebuilt).count() == 1  # the old ones went
    (result,) = scrub_claims([rebuilt.pk], actor=users["biller"],
                             today=office.day + timedelta(days=1))  # fmt: skip
    assert result.findings == [] and result.status == ClaimStatus.READY


@pytest.mark.django_db
def test_a_claim_carries_no_more_than_twelve_diagnoses_each_rank_once(practice):
    from django.db import IntegrityError, transaction

    claim = make_claim(lines=1)
    for rank, code in ((1, "J06.9"), (13, "J06.9"), (0, "R05.9")):
        with pytest.raises(IntegrityError), transaction.atomic():
            ClaimDiagnosis.objects.create(claim=claim, rank=rank, code=code)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimDiagnosis.objects.create(claim=claim, rank=4, code="I10")  # I10 is rank 2
    assert _codes(claim) == ["E11.9", "I10", "Z00.00"]


# --- The migration that gave existing claims their diagnoses ----------------------------------

BEFORE = [("claims", "0008_eligibility_requests")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_each_existing_claims_diagnoses_from_its_encounter(practice):
    first = make_claim(lines=1)
    second = make_claim(lines=2)
    EncounterDiagnosis.objects.filter(encounter_id=second.encounter_id, rank=3).delete()
    uncoded = make_claim(lines=1)  # its encounter's diagnoses were removed: it gets none
    EncounterDiagnosis.objects.filter(encounter_id=uncoded.encounter_id).delete()
    try:
        _migrate(BEFORE)  # the table goes, with the rows the builder made
        _migrate([("claims", "0009_claim_diagnoses_as_billed")])
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    copied = sorted(ClaimDiagnosis.objects.values_list("claim_id", "rank", "code"))
    assert copied == sorted([
        (first.pk, 1, "E11.9"), (first.pk, 2, "I10"), (first.pk, 3, "Z00.00"),
        (second.pk, 1, "E11.9"), (second.pk, 2, "I10"),
    ])  # fmt: skip
