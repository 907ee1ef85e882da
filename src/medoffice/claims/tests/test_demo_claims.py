"""The demo's coded encounters and claims: every claim status, charges on the books, 837P
files pyx12 accepts, the same data from the same seed, and the built-in codes without corpus.

Loading the demo is slow, so the module loads it once (`demo_claims`) and the tests read it:
first the code step alone with no corpus (its facts kept), then the whole demo twice from one
seed (the first load's fingerprint kept), each rolled back but the last.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum

from medoffice.claims import demo as claims_demo
from medoffice.claims.models import (
    Claim,
    ClaimEvent,
    ClaimStatus,
    Encounter,
    EncounterDiagnosis,
    EncounterStatus,
    FrequencyCode,
    ScrubFinding,
)
from medoffice.coding import demo as coding_demo
from medoffice.core import demo

TODAY = date(2026, 3, 3)  # a Tuesday
SEED = 9


class _Rollback(Exception):
    pass


def _rolled_back(load) -> Any:
    """Run `load` in a transaction, keep what it returns, and undo its writes."""
    kept: list[Any] = []
    try:
        with transaction.atomic():
            kept.append(load())
            raise _Rollback
    except _Rollback:
        pass
    return kept[0]


def fingerprint() -> dict[str, Any]:
    """What the demo made, by values that do not depend on row ids (PostgreSQL's sequences do
    not roll back)."""
    encounters = sorted(
        (
            e.patient.last_name, e.patient.first_name, e.date_of_service.isoformat(), e.status,
            tuple(e.diagnoses.values_list("code", flat=True)),
            tuple(e.lines.values_list("code", "units", "charge_cents")),
        )
        for e in Encounter.objects.select_related("patient")
    )  # fmt: skip
    claims = sorted(
        (
            c.control_number, c.status, c.frequency_code, c.total_charge_cents, c.payer.payer_id,
            c.payer_claim_number, c.encounter.date_of_service.isoformat(),
            tuple(
                (before, after, re.sub(r"encounter \d+", "encounter #", note))
                for before, after, note in c.events.values_list("from_status", "to_status", "note")
            ),
            tuple(c.findings.values_list("code", "line_number")),
        )
        for c in Claim.objects.select_related("payer", "encounter")
    )  # fmt: skip
    return {"encounters": encounters, "claims": claims}


@dataclass
class Loaded:
    builtin: dict[str, Any]
    first: dict[str, Any]
    result: Any


@pytest.fixture(scope="module")
def demo_claims(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        builtin = _rolled_back(_builtin_facts)
        first = _rolled_back(lambda: (demo.load_demo(seed=SEED, today=TODAY), fingerprint())[1])
        with transaction.atomic():
            result = demo.load_demo(seed=SEED, today=TODAY)
            yield Loaded(builtin=builtin, first=first, result=result)
            transaction.set_rollback(True)


def _builtin_facts() -> dict[str, Any]:
    """The code step with the corpus out of reach (a clone outside the workspace)."""
    import os

    from medoffice.coding.models import Fee, MpfsRvu, PayerContract, ProcedureCode, PtpEdit

    saved = os.environ.get("MEDOFFICE_CODES_CORPUS")
    os.environ["MEDOFFICE_CODES_CORPUS"] = "/nonexistent/medoffice-corpus"
    try:
        result = demo.load_demo(seed=SEED, today=TODAY, only=("foundation", "patients", "coding"))
    finally:
        if saved is None:
            del os.environ["MEDOFFICE_CODES_CORPUS"]
        else:
            os.environ["MEDOFFICE_CODES_CORPUS"] = saved
    return {
        "notes": result.notes,
        "codes": set(ProcedureCode.objects.values_list("code", flat=True)),
        "fees": set(Fee.objects.values_list("code", flat=True)),
        "contracts": list(PayerContract.objects.values_list("payer__payer_id", "basis")),
        "edits": PtpEdit.objects.count() + MpfsRvu.objects.count(),
    }


@pytest.mark.django_db
def test_every_claim_status_is_present_with_its_history(demo_claims):
    statuses = Counter(Claim.objects.values_list("status", flat=True))
    assert set(statuses) == set(ClaimStatus.values), statuses
    for claim in Claim.objects.prefetch_related("events"):
        events = list(claim.events.all())
        assert events[0].from_status == "" and events[0].to_status == ClaimStatus.DRAFT
        assert events[-1].to_status == claim.status
        for before, after in itertools.pairwise(events):
            assert after.from_status == before.to_status
    # Each state carries what it means.
    held = Claim.objects.filter(status=ClaimStatus.SCRUB_ERRORS)
    assert not held.exclude(findings__severity="error").exists()
    assert ScrubFinding.objects.filter(code="prior_auth_missing").exists()
    assert not Claim.objects.filter(status=ClaimStatus.ACCEPTED, payer_claim_number="").exists()
    reasons = ClaimEvent.objects.filter(to_status=ClaimStatus.REJECTED).values_list(
        "note", flat=True
    )
    assert reasons and all(note in claims_demo.REJECT_REASONS for note in reasons)
    assert not Claim.objects.filter(status=ClaimStatus.BATCHED, batch__submitted_at__isnull=False)
    assert not Claim.objects.filter(status=ClaimStatus.SUBMITTED, batch__submitted_at__isnull=True)
    # A void and a replacement of claims the payer has, naming its claim number.
    for frequency in (FrequencyCode.VOID, FrequencyCode.REPLACEMENT):
        change = Claim.objects.select_related("replaces").get(frequency_code=frequency)
        assert change.replaces.payer_claim_number
        assert change.payer_claim_number == change.replaces.payer_claim_number
        assert change.status == ClaimStatus.BATCHED


@pytest.mark.django_db
def test_the_replacement_sends_the_visit_recoded_with_the_diagnosis_its_note_names(demo_claims):
    from medoffice.claims.models import ClaimDiagnosis

    def codes(claim: Claim) -> list[str]:
        rows = ClaimDiagnosis.objects.filter(claim=claim).order_by("rank")
        return list(rows.values_list("code", flat=True))

    replacement = Claim.objects.select_related("replaces", "encounter").get(
        frequency_code=FrequencyCode.REPLACEMENT
    )
    original = replacement.replaces
    added = codes(replacement)[-1]
    assert codes(replacement) == [*codes(original), added]
    assert added in claims_demo.ADDED_ON_REVIEW
    assert replacement.events.filter(note__endswith=f"Diagnosis {added} was added after review.")
    encounter = replacement.encounter
    assert encounter.status == EncounterStatus.READY
    now = list(encounter.diagnoses.order_by("rank").values_list("code", flat=True))
    assert now == codes(replacement)
    rank = len(now)
    assert any(rank in line.diagnosis_pointers for line in replacement.lines.all())
    assert not any(rank in line.diagnosis_pointers for line in original.lines.all())
    # Reopened and finalized again: the first charges reversed, the recoded visit's posted.
    from medoffice.claims.charges import charge_entries

    keys = [e.source_key.rsplit(":", 1)[1] for e in charge_entries(encounter)]
    assert keys == ["charges-1", "reversal-1", "charges-2"], keys
    assert encounter.charge_entry_id == charge_entries(encounter).last().pk
    assert list(replacement.lines.values_list("code", "charge_cents")) == list(
        original.lines.values_list("code", "charge_cents")
    )


@pytest.mark.django_db
def test_every_ready_encounter_has_its_balanced_charges_on_the_ledger(demo_claims):
    from medoffice.ledger.models import JournalLine

    statuses = Counter(Encounter.objects.values_list("status", flat=True))
    assert statuses[EncounterStatus.READY] > statuses[EncounterStatus.DRAFT] > 0
    assert statuses[EncounterStatus.CODED] > 0
    ready = Encounter.objects.filter(status=EncounterStatus.READY)
    for encounter in ready.select_related("charge_entry"):
        entry = encounter.charge_entry
        assert entry is not None, encounter
        assert (entry.source_type, entry.source_id) == ("claims.encounter", str(encounter.pk))
        lines = JournalLine.objects.filter(entry=entry)
        assert lines.aggregate(total=Sum("amount_cents"))["total"] == 0  # balanced
        charges = encounter.lines.aggregate(total=Sum("charge_cents"))["total"]
        debits = lines.filter(amount_cents__gt=0).aggregate(total=Sum("amount_cents"))["total"]
        assert debits == charges == entry.total_cents > 0
    assert not Encounter.objects.exclude(status=EncounterStatus.READY).filter(
        charge_entry__isnull=False
    )
    # Lines point at the diagnoses they treat (1 to 4 diagnoses, 1 to 3 lines).
    for encounter in ready.prefetch_related("diagnoses", "lines"):
        count = len(encounter.diagnoses.all())
        assert 1 <= count <= 4 and 1 <= len(encounter.lines.all()) <= 3
        for line in encounter.lines.all():
            assert line.diagnosis_pointers and max(line.diagnosis_pointers) <= count


@pytest.mark.django_db
def test_the_diagnoses_are_billable_icd10_cm_codes(demo_claims):
    icd = pytest.importorskip("simple_icd_10_cm")
    pools = {code for _main, _extras, pool in claims_demo.VISITS.values() for code in pool}
    used = set(EncounterDiagnosis.objects.values_list("code", flat=True))
    assert used and used <= pools
    for code in pools:
        assert icd.is_valid_item(code) and icd.is_leaf(code), code


@pytest.mark.django_db
def test_the_demo_837p_batches_pass_pyx12(demo_claims, tmp_path):
    from medoffice.claims.models import ClaimBatch
    from medoffice.x12.tests.test_professional_claim_writer import _pyx12_errors

    batches = list(ClaimBatch.objects.order_by("pk"))
    assert len(batches) == 2  # one sent, one waiting
    frequencies = set()
    for batch in batches:
        content = bytes(batch.content)
        assert batch.claim_count == Claim.objects.filter(batch=batch).count() > 0
        valid, problems, _ack = _pyx12_errors(content, tmp_path)
        assert valid and not problems, (batch.file_name, problems[:5])
        text = content.decode()
        element, component, segment = text[3], text[104], text[105]
        frequencies |= {
            part.split(element)[5].split(component)[2]
            for part in text.split(segment)
            if part.startswith("CLM" + element)
        }
    assert frequencies == {"1", "7", "8"}


@pytest.mark.django_db
def test_the_same_seed_makes_the_same_data(demo_claims):
    again = fingerprint()
    assert again == demo_claims.first
    assert len(again["claims"]) > 30 and len(again["encounters"]) > 40


@pytest.mark.django_db
def test_the_codes_fees_and_contracts_of_the_demo(demo_claims):
    from medoffice.coding import pricing
    from medoffice.coding.imports import CorpusMissing, codes_corpus
    from medoffice.coding.models import MpfsRvu, PayerContract, ProcedureCode, PtpEdit
    from medoffice.patients.models import Payer

    try:
        codes_corpus()
    except CorpusMissing:
        pytest.skip("the shipped code tables (shared/corpus/codes) are not beside this checkout")
    wanted = coding_demo.demo_codes()
    assert wanted <= set(ProcedureCode.objects.values_list("code", flat=True))
    assert not ProcedureCode.objects.filter(system="CPT").exclude(
        short_description__in=[label for _code, label in coding_demo.DEMO_CPT]
    )  # the demo's own labels, no CPT descriptor
    assert PtpEdit.objects.filter(column1="11102", column2="99213").exists()
    assert MpfsRvu.objects.filter(code="99213").exists()
    contracts = dict(PayerContract.objects.values_list("payer__payer_id", "basis"))
    assert contracts == {"LKS01": "rates", "SMT22": "medicare_percent"}
    summit = Payer.objects.get(payer_id="SMT22")
    cents = pricing.expected_payment_cents(summit, "99213", [], TODAY, "11")
    assert cents and cents > 0
    assert any("small demo loads" in note for note in demo_claims.result.notes)


def test_without_the_corpus_the_demo_loads_its_built_in_codes(demo_claims):
    facts = demo_claims.builtin
    assert any("built-in set" in note for note in facts["notes"])
    assert coding_demo.demo_codes() <= facts["codes"]
    assert set(coding_demo.DEMO_FEES) == facts["fees"]
    assert facts["contracts"] == [("LKS01", "rates")]  # no MPFS: no Medicare-percent contract
    assert facts["edits"] == 0
    assert any("Summit" in note for note in facts["notes"])


def _segments(content: bytes) -> list[list[str]]:
    text = content.decode()
    element, segment = text[3], text[105]
    return [part.split(element) for part in text.split(segment) if part]


@pytest.mark.django_db
def test_a_batch_from_the_database_carries_pay_to_supervising_ndc_and_prior_auth(
    demo_claims, tmp_path
):
    """The demo codes a drug line, a supervised visit and an authorized biopsy, and pays to a
    lockbox: an 837P written from the database for those claims carries each in its loop
    (2010AB, 2310D, 2410, REF*G1 in 2300), as does the demo's own file, and pyx12 accepts it."""
    from django.utils import timezone

    from medoffice.claims.batches import practice_exchange, write_837p
    from medoffice.claims.models import ClaimBatch
    from medoffice.core.models import Practice
    from medoffice.x12 import read
    from medoffice.x12.tests.test_professional_claim_writer import _pyx12_errors

    practice = Practice.objects.get()
    assert practice.has_pay_to and practice.pay_to_address_line1 != practice.address_line1
    drug = Claim.objects.get(lines__ndc__gt="", frequency_code=FrequencyCode.ORIGINAL)
    supervised = Claim.objects.get(
        encounter__supervising_provider__isnull=False, frequency_code=FrequencyCode.ORIGINAL
    )
    authorized = Claim.objects.filter(
        encounter__prior_authorization__gt="", frequency_code=FrequencyCode.ORIGINAL,
        batch__isnull=False,
    ).order_by("pk")[0]  # fmt: skip
    picked = [drug, supervised, authorized]
    assert all(claim.batch_id is not None for claim in picked)  # the demo sent them too
    drug_line = drug.lines.get(ndc__gt="")
    assert (drug_line.code, drug_line.units, drug_line.ndc, drug_line.ndc_unit) == (
        "J1100",
        10,
        "63323016501",
        "ML",
    )
    supervisor = supervised.encounter.supervising_provider
    assert supervisor.pk != supervised.encounter.rendering_provider_id
    content = write_837p(
        Claim.objects.filter(pk__in=[c.pk for c in picked]),
        practice_exchange(receiver_id="DEMOCLEARING"),
        interchange_number=990001, group_number=990001,
        created=timezone.localtime(), reference="990001",
    )  # fmt: skip

    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert valid and not problems, problems[:5]
    segments = _segments(content)
    ids = [s[0] for s in segments]
    pay_to = ids.index("NM1", ids.index("REF"))  # the NM1 after the billing provider's REF*EI
    assert segments[pay_to][:3] == ["NM1", "87", "2"]
    assert segments[pay_to + 1] == ["N3", "PO BOX 4410"]
    assert segments[pay_to + 2] == [
        "N4", practice.pay_to_city.upper(), practice.pay_to_state,
        practice.pay_to_zip_code.replace("-", ""),
    ]  # fmt: skip
    assert ["NM1", "DQ", "1", supervisor.last_name.upper(), supervisor.first_name.upper(),
            "", "", "", "XX", supervisor.npi] in segments  # fmt: skip
    assert ["LIN", "", "N4", "63323016501"] in segments
    assert ["CTP", "", "", "", "1", "ML"] in segments
    assert ["REF", "G1", authorized.encounter.prior_authorization] in segments

    # The reader puts each in its loop, on the claim it belongs to.
    (transaction,) = read(content).transactions()
    (billing,) = transaction.data.billing_providers
    assert billing.pay_to is not None and billing.pay_to.address is not None
    assert billing.pay_to.address.lines == ["PO BOX 4410"]
    assert billing.provider.address.lines != billing.pay_to.address.lines
    claims = {claim.claim_id: claim for claim in transaction.data.claims()}
    dq = claims[supervised.control_number].provider("DQ")
    assert dq is not None and dq.identifier == supervisor.npi
    assert claims[authorized.control_number].prior_authorization == (
        authorized.encounter.prior_authorization
    )
    (billed_drug,) = [
        line for line in claims[drug.control_number].service_lines if line.drug is not None
    ]
    assert (billed_drug.code, billed_drug.units) == ("J1100", Decimal(10))
    assert (billed_drug.drug.qualifier, billed_drug.drug.code) == ("N4", "63323016501")
    assert (billed_drug.drug.quantity, billed_drug.drug.unit) == (Decimal(1), "ML")
    # The demo's own files carry them too (pyx12 checks those files above).
    sent = b"".join(bytes(b.content) for b in ClaimBatch.objects.filter(pk__in=[
        c.batch_id for c in picked]))  # fmt: skip
    for wanted in (b"NM1*87*2", b"NM1*DQ*1", b"LIN**N4*63323016501", b"REF*G1*"):
        assert wanted in sent, wanted
