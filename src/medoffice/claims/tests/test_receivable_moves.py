"""The receivable follows the claim: a visit whose charges posted to one payer (or to the
patient, self-pay) and whose claim is built for another moves its open charges to the claim's
payer in one balanced entry, once, in the claim build's transaction; a correction afterwards
reverses what is there now."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse

from medoffice.claims import charges
from medoffice.claims import claims_services as claims
from medoffice.claims import encounters as svc
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import Claim, ClaimEvent, Encounter
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import AuditEvent
from medoffice.ledger import selectors as books
from medoffice.ledger import services as ledger
from medoffice.ledger.models import EntryKind, JournalEntry, JournalLine
from medoffice.patients.models import Coverage
from medoffice.testing import patients_factories as pf
from medoffice.testing.races import at_once

pytestmark = pytest.mark.django_db

LINES = [LineInput("99213", pointers=[1]), LineInput("36415", units=2, pointers=[1])]
TOTAL = 12500 + 3000  # the test fee schedule's 99213 and two 36415


def finalized(office, users, *, lines=LINES) -> Encounter:
    encounter = svc.encounter_create(
        actor=users["clinician"], patient=office.patient, location=office.location,
        rendering_provider=office.provider, date_of_service=office.day,
    )  # fmt: skip
    svc.encounter_code(actor=users["clinician"], encounter_id=encounter.pk,
                       diagnoses=["E11.9"], lines=lines)  # fmt: skip
    svc.encounter_mark_coded(actor=users["clinician"], encounter_id=encounter.pk)
    return svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)


def corrected_coverage(office, wrong: Coverage | None, payer) -> Coverage:
    """The desk finds the coverage on file was not the patient's: it ends before the visit,
    and the right one is primary."""
    if wrong is not None:
        Coverage.objects.filter(pk=wrong.pk).update(end_date=office.day - timedelta(days=1))
    return pf.coverage(patient=office.patient, payer=payer)


def moves(encounter) -> list[JournalEntry]:
    return list(
        JournalEntry.objects.filter(
            source_key__startswith=f"claims.encounter:{encounter.pk}:receivable-",
            kind=EntryKind.EVENT,
        ).order_by("id")
    )


def lines_of(
    entry: JournalEntry,
) -> list[tuple[str | None, int, int | None, int | None, int | None]]:
    return sorted(
        (line.account.key, line.amount_cents, line.location_id, line.provider_id,
         line.patient_id)
        for line in entry.lines.select_related("account")
    )  # fmt: skip


def visit_ar(encounter) -> dict[int | None, int]:
    """The visit's receivable now, by payer id (None: the patient), from its own entries."""
    found: dict[int | None, int] = {}
    for held in charges.receivables(encounter):
        found[held.payer_id] = found.get(held.payer_id, 0) + held.cents
    return found


def total_ar_cents() -> int:
    """Everything receivable on the books: every payer's A/R and patient A/R."""
    return sum(books.payer_ar_cents().values()) + sum(
        JournalLine.objects.filter(account__key="patient_ar").values_list("amount_cents", flat=True)
    )


@pytest.fixture
def payers(db):
    return pf.payer(name="Acme Health"), pf.payer(name="Beta Mutual")


def test_the_receivable_moves_to_the_payer_the_claim_is_built_for(office, users, payers):
    acme, beta = payers
    wrong = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    assert books.payer_ar_cents() == {acme.pk: TOTAL}
    corrected_coverage(office, wrong, beta)
    claim = claims.claim_build(actor=users["biller"], encounter=encounter)
    assert claim.payer == beta
    [move] = moves(encounter)
    assert move.source_key == f"claims.encounter:{encounter.pk}:receivable-1"
    assert move.total_cents == TOTAL and move.posted_by == users["biller"]
    assert move.memo == (
        f"Claim {claim.control_number}: receivable moved from Acme Health to Beta Mutual"
    )
    where = (office.location.pk, office.provider.pk, None)
    assert lines_of(move) == [
        (f"insurance_ar:payer:{acme.pk}", -TOTAL, *where),
        (f"insurance_ar:payer:{beta.pk}", TOTAL, *where),
    ]
    assert sum(amount for _, amount, *_ in lines_of(move)) == 0
    # The books and the visit read it under the new payer; the old one is back to zero.
    assert books.payer_ar_cents() == {beta.pk: TOTAL}
    assert books.payer_ar_cents([acme.pk]) == {}
    assert books.balance_of(ledger.payer_account(beta)) == Decimal("155.00")
    assert visit_ar(encounter) == {beta.pk: TOTAL}
    assert books.trial_balance().balanced
    assert total_ar_cents() == TOTAL
    # The claim's history says so, naming the actor; so does the audit trail.
    event = ClaimEvent.objects.filter(claim=claim, note__startswith="Receivable moved").get()
    assert event.note == ("Receivable moved from Acme Health to Beta Mutual: $155.00.")
    assert event.actor == users["biller"] and event.details["receivable_entry"] == move.pk
    posted = AuditEvent.objects.get(object_type="ledger.journalentry", object_id=str(move.pk))
    assert posted.actor_id == users["biller"].pk
    noted = AuditEvent.objects.filter(
        object_type="claims.encounter", object_id=str(encounter.pk), reason__contains="claim"
    ).get()
    assert noted.actor_id == users["biller"].pk
    assert claim.control_number in noted.reason


def test_building_again_moves_nothing(office, users, payers):
    acme, beta = payers
    wrong = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    corrected_coverage(office, wrong, beta)
    claim = claims.claim_build(actor=users["biller"], encounter=encounter)
    entries = JournalEntry.objects.count()
    with pytest.raises(Conflict, match="already has claim"):
        claims.claim_build(actor=users["biller"], encounter=encounter)
    assert charges.move_receivable(encounter, claim, actor=users["biller"]) is None
    # Rejected and rebuilt for the same payer: the receivable is there already.
    for to in ("ready", "batched", "submitted", "rejected"):
        claims.claim_set_status(actor=users["biller"], claim=claim, to=to)
    rebuilt = claims.claim_build(actor=users["biller"], encounter=encounter)
    assert rebuilt.pk == claim.pk and rebuilt.status == "draft"
    assert JournalEntry.objects.count() == entries and len(moves(encounter)) == 1
    assert ClaimEvent.objects.filter(note__startswith="Receivable moved").count() == 1
    assert books.payer_ar_cents() == {beta.pk: TOTAL}


def test_a_claim_built_for_the_payer_the_charges_posted_to_moves_nothing(office, users, payers):
    acme, _ = payers
    pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    claims.claim_build(actor=users["biller"], encounter=encounter)
    assert moves(encounter) == [] and books.payer_ar_cents() == {acme.pk: TOTAL}
    assert not ClaimEvent.objects.filter(note__startswith="Receivable moved").exists()


def test_a_rejected_claim_billed_to_another_payer_takes_the_receivable_with_it(
    office, users, payers
):
    acme, beta = payers
    wrong = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    first = claims.claim_build(actor=users["biller"], encounter=encounter)
    for to in ("ready", "batched", "submitted", "rejected"):
        claims.claim_set_status(actor=users["biller"], claim=first, to=to)
    corrected_coverage(office, wrong, beta)
    second = claims.claim_build(actor=users["biller"], encounter=encounter)
    first.refresh_from_db()
    assert first.status == "void" and second.payer == beta
    assert len(moves(encounter)) == 1 and books.payer_ar_cents() == {beta.pk: TOTAL}


def test_a_self_pay_visit_found_insured_moves_from_the_patients_account(office, users, payers):
    _, beta = payers
    encounter = finalized(office, users)  # no coverage on file: the patient's
    patient = office.patient.pk
    assert books.patient_account_cents([patient]) == {patient: TOTAL}
    corrected_coverage(office, None, beta)
    claim = claims.claim_build(actor=users["biller"], encounter=encounter)
    [move] = moves(encounter)
    assert lines_of(move) == [
        (f"insurance_ar:payer:{beta.pk}", TOTAL, office.location.pk, office.provider.pk, None),
        ("patient_ar", -TOTAL, office.location.pk, office.provider.pk, patient),
    ]
    assert books.patient_account_cents([patient]) == {patient: 0}
    assert books.payer_ar_cents() == {beta.pk: TOTAL} and total_ar_cents() == TOTAL
    note = ClaimEvent.objects.get(claim=claim, note__startswith="Receivable moved").note
    assert note.startswith("Receivable moved from the patient (self-pay) to Beta Mutual: $155.00")


def test_a_correction_after_the_move_reverses_what_is_there_now(office, users, payers):
    acme, beta = payers
    wrong = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    first_charges = encounter.charge_entry
    corrected_coverage(office, wrong, beta)
    claims.claim_build(actor=users["biller"], encounter=encounter)  # a draft: dropped below
    [move] = moves(encounter)
    svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="wrong level")
    # The move is reversed, then the charges: nothing is receivable for the visit anywhere.
    move_back = JournalEntry.objects.get(reverses=move)
    assert move_back.source_key == f"claims.encounter:{encounter.pk}:receivable-1-reversal"
    assert JournalEntry.objects.get(reverses=first_charges).id > move_back.id
    assert visit_ar(encounter) == {} and books.payer_ar_cents() == {} and total_ar_cents() == 0
    assert books.trial_balance().balanced
    # Finalized again (one line now): the charges post to the payer in force, and its claim
    # moves nothing.
    svc.encounter_code(actor=users["biller"], encounter_id=encounter.pk, diagnoses=["E11.9"],
                       lines=[LineInput("99213", pointers=[1])])  # fmt: skip
    svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    again = svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)
    assert again.charge_entry.source_key == f"claims.encounter:{encounter.pk}:charges-2"
    claim = claims.claim_build(actor=users["biller"], encounter=again)
    assert claim.payer == beta and moves(encounter) == [move]
    assert books.payer_ar_cents() == {beta.pk: 12500} and total_ar_cents() == 12500
    assert visit_ar(encounter) == {beta.pk: 12500}
    assert books.trial_balance().balanced
    assert [e.source_key.rpartition(":")[2] for e in charges.charge_entries(encounter)] == [
        "charges-1", "receivable-1", "receivable-1-reversal", "reversal-1", "charges-2",
    ]  # fmt: skip


def test_a_second_correction_moves_it_again_and_a_reopening_undoes_both(office, users, payers):
    """Self-pay at finalizing; the desk adds Acme, whose claim is rejected (not the patient's);
    then Beta: the receivable goes patient -> Acme -> Beta, and reopening the visit reverses
    the two moves, newest first, then the charges."""
    acme, beta = payers
    encounter = finalized(office, users)
    wrong = corrected_coverage(office, None, acme)
    first = claims.claim_build(actor=users["biller"], encounter=encounter)
    for to in ("ready", "batched", "submitted", "rejected"):
        claims.claim_set_status(actor=users["biller"], claim=first, to=to)
    corrected_coverage(office, wrong, beta)
    claims.claim_build(actor=users["biller"], encounter=encounter)
    one, two = moves(encounter)
    assert two.source_key == f"claims.encounter:{encounter.pk}:receivable-2"
    assert lines_of(two) == [
        (f"insurance_ar:payer:{acme.pk}", -TOTAL, office.location.pk, office.provider.pk, None),
        (f"insurance_ar:payer:{beta.pk}", TOTAL, office.location.pk, office.provider.pk, None),
    ]
    assert visit_ar(encounter) == {beta.pk: TOTAL} and total_ar_cents() == TOTAL
    assert books.patient_account_cents([office.patient.pk]) == {office.patient.pk: 0}
    svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="recode")
    back_two = JournalEntry.objects.get(reverses=two)
    back_one = JournalEntry.objects.get(reverses=one)
    charges_back = JournalEntry.objects.get(
        source_key=f"claims.encounter:{encounter.pk}:reversal-1"
    )
    assert back_two.id < back_one.id < charges_back.id
    assert visit_ar(encounter) == {} and total_ar_cents() == 0
    assert books.payer_ar_cents() == {} and books.trial_balance().balanced
    assert books.patient_account_cents([office.patient.pk]) == {office.patient.pk: 0}


def test_a_replacement_takes_the_corrected_visits_receivable_to_its_payer(office, users, payers):
    """Acme has the claim; the visit is corrected while Acme's coverage is off the record, so
    its charges post to the patient; the replacement to Acme takes them back to Acme."""
    acme, _ = payers
    coverage = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    sent = claims.claim_build(actor=users["biller"], encounter=encounter)
    for to in ("ready", "batched", "submitted"):
        claims.claim_set_status(actor=users["biller"], claim=sent, to=to)
    claims.claim_record_payer_number(actor=users["biller"], claim=sent, number="ACME-77")
    svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="one line")
    Coverage.objects.filter(pk=coverage.pk).update(is_active=False)
    svc.encounter_code(actor=users["biller"], encounter_id=encounter.pk, diagnoses=["E11.9"],
                       lines=[LineInput("99213", pointers=[1])])  # fmt: skip
    svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)
    patient = office.patient.pk
    assert visit_ar(encounter) == {None: 12500}  # posted as self-pay
    Coverage.objects.filter(pk=coverage.pk).update(is_active=True)  # the desk put it back
    sent.refresh_from_db()
    replacement = claims.claim_replace(actor=users["biller"], claim=sent, reason="one line")
    assert replacement.payer == acme
    assert visit_ar(encounter) == {acme.pk: 12500}
    assert books.patient_account_cents([patient]) == {patient: 0}
    assert books.trial_balance().balanced and total_ar_cents() == 12500
    note = ClaimEvent.objects.get(claim=replacement, note__startswith="Receivable moved").note
    assert note.startswith("Receivable moved from the patient (self-pay) to Acme Health: $125.00")


def test_the_pages_read_the_moved_receivable(office, users, payers, client_for):
    acme, beta = payers
    wrong = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    page = client_for("biller").get(reverse("claims:encounter", args=[encounter.pk]))
    assert 'id="receivable">Acme Health: $155.00<' in page.content.decode()
    corrected_coverage(office, wrong, beta)
    claim = claims.claim_build(actor=users["biller"], encounter=encounter)
    page = client_for("biller").get(reverse("claims:encounter", args=[encounter.pk]))
    assert 'id="receivable">Beta Mutual: $155.00<' in page.content.decode()
    detail = (
        client_for("biller").get(reverse("claims:claim_detail", args=[claim.pk])).content.decode()
    )
    assert "Receivable moved from Acme Health to Beta Mutual: $155.00" in detail


# --- At once (PostgreSQL) -----------------------------------------------------------------------


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_builds_at_once_move_the_receivable_once(office, users, payers):
    _postgres_only()
    acme, beta = payers
    wrong = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    corrected_coverage(office, wrong, beta)
    count = 6

    def attempt(_n: int) -> str:
        try:
            claims.claim_build(actor=users["biller"], encounter=encounter)
        except Conflict as exc:
            return f"conflict:{exc.code}"
        return "built"

    outcomes = at_once(count, attempt)
    assert sorted(outcomes) == ["built"] + ["conflict:claim_exists"] * (count - 1), outcomes
    assert Claim.objects.filter(encounter=encounter).count() == 1
    assert len(moves(encounter)) == 1
    assert ClaimEvent.objects.filter(note__startswith="Receivable moved").count() == 1
    assert books.payer_ar_cents() == {beta.pk: TOTAL} and books.trial_balance().balanced


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_the_lock_the_source_key_still_moves_the_receivable_once(office, users, payers):
    """The encounter's row lock switched off: moves made from four threads at once read the
    same holder and meet the ledger's unique source key; one entry is written."""
    _postgres_only()
    acme, beta = payers
    wrong = pf.coverage(patient=office.patient, payer=acme)
    encounter = finalized(office, users)
    corrected_coverage(office, wrong, beta)
    claim = Claim.objects.create(
        encounter=encounter, coverage=Coverage.objects.get(payer=beta), payer=beta,
        control_number="RACE0000000001", total_charge_cents=TOTAL,
    )  # fmt: skip

    def attempt(_n: int) -> str:
        with transaction.atomic():
            moved = charges.move_receivable(
                Encounter.objects.get(pk=encounter.pk), claim, actor=users["biller"]
            )
        return f"moved:{moved.entry.source_key}" if moved else "there already"

    outcomes = at_once(4, attempt)
    key = f"claims.encounter:{encounter.pk}:receivable-1"
    assert set(outcomes) <= {f"moved:{key}", "there already"} and f"moved:{key}" in outcomes
    assert len(moves(encounter)) == 1
    assert books.payer_ar_cents() == {beta.pk: TOTAL} and books.trial_balance().balanced


def test_with_only_a_secondary_in_force_one_rule_decides_charges_page_and_claim(
    office, users, payers, client_for
):
    """The charges post to the coverage in force first (here a secondary); the claim build
    refuses it in words that say how to fix the record, and once it is made primary the claim
    goes to the payer the charges are with: nothing to move."""
    acme, _ = payers
    coverage = pf.coverage(patient=office.patient, payer=acme, priority=2)
    encounter = finalized(office, users)
    assert visit_ar(encounter) == {acme.pk: TOTAL}
    page = client_for("biller").get(reverse("claims:encounter", args=[encounter.pk]))
    html = page.content.decode()
    assert 'id="no-primary"' in html and 'id="build-claim"' not in html
    with pytest.raises(InvalidInput, match="recorded as secondary: a secondary claim goes after"):
        claims.claim_build(actor=users["biller"], encounter=encounter)
    assert not Claim.objects.filter(encounter=encounter).exists()
    Coverage.objects.filter(pk=coverage.pk).update(priority=1)
    claim = claims.claim_build(actor=users["biller"], encounter=encounter)
    assert claim.payer == acme and moves(encounter) == []
    assert visit_ar(encounter) == {acme.pk: TOTAL}
