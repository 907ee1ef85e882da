"""Building claims, their history, void and replacement, and two builds racing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from medoffice.claims import claims_services as services
from medoffice.claims.models import (
    Claim,
    ClaimEvent,
    ClaimLine,
    ClaimStatus,
    EncounterStatus,
    ServiceLine,
)
from medoffice.core.exceptions import Conflict, InvalidInput, InvalidTransition
from medoffice.patients.models import Coverage
from medoffice.testing import claims_factories as cf
from medoffice.testing import factories
from medoffice.testing.races import at_once

DAY = cf.DEFAULT_DAY


@pytest.fixture
def biller(db, practice):
    return factories.user("biller")


def _state():
    return (
        Claim.objects.count(),
        ClaimLine.objects.count(),
        ClaimEvent.objects.count(),
    )


@pytest.mark.django_db
def test_a_claim_is_built_for_the_primary_coverage_with_the_encounters_lines(biller):
    patient = cf.patient()
    primary = cf.coverage(patient)
    cf.coverage(patient, priority=2)
    encounter = cf.encounter(patient=patient, lines=[
        {"code": "99213", "modifiers": ["25"], "charge_cents": 15_000, "diagnosis_pointers": [1]},
        {"code": "20610", "units": 2, "charge_cents": 9_000, "diagnosis_pointers": [1]},
    ])  # fmt: skip
    claim = services.claim_build(actor=biller, encounter=encounter)
    assert (claim.coverage, claim.payer_id, claim.frequency_code) == (
        primary,
        primary.payer_id,
        "1",
    )
    assert claim.status == ClaimStatus.DRAFT and claim.created_by == biller
    assert claim.total_charge_cents == 24_000
    assert re.fullmatch(r"[A-Z]{2,4}\d{10}", claim.control_number)
    lines = list(claim.lines.order_by("line_number").values_list(
        "line_number", "code", "modifiers", "units", "charge_cents", "diagnosis_pointers"))  # fmt: skip
    assert lines == [(1, "99213", ["25"], 1, 15_000, [1]), (2, "20610", [], 2, 9_000, [1])]
    event = claim.events.get()
    assert (event.actor, event.from_status, event.to_status) == (biller, "", "draft")
    assert "encounter" in event.note


@pytest.mark.django_db
def test_control_numbers_are_unique_letters_and_digits(biller):
    numbers = {services.claim_build(actor=biller, encounter=cf.encounter()).control_number
               for _ in range(3)}  # fmt: skip
    assert len(numbers) == 3 and all(n.isalnum() and len(n) <= 20 for n in numbers)


@pytest.mark.django_db
def test_a_second_build_is_refused_and_writes_nothing(biller):
    encounter = cf.encounter()
    first = services.claim_build(actor=biller, encounter=encounter)
    before = _state()
    with pytest.raises(Conflict, match=f"already has claim {first.control_number}"):
        services.claim_build(actor=biller, encounter=encounter)
    assert _state() == before


@pytest.mark.django_db
def test_a_rejected_claim_is_rebuilt_from_the_corrected_visit_as_an_original(biller):
    encounter = cf.encounter(lines=[{"code": "99213", "charge_cents": 10_000},
                                    {"code": "97110", "charge_cents": 4_000}])  # fmt: skip
    claim = services.claim_build(actor=biller, encounter=encounter)
    for to in ("ready", "batched", "submitted", "rejected"):
        services.claim_set_status(actor=biller, claim=claim, to=to, note=f"to {to}")
    # The coder corrects the visit: the second line goes, the first has two units.
    ServiceLine.objects.filter(encounter=encounter, line_number=2).delete()
    ServiceLine.objects.filter(encounter=encounter).update(units=2, charge_cents=20_000)
    rebuilt = services.claim_build(actor=biller, encounter=encounter)
    assert rebuilt.pk == claim.pk and Claim.objects.filter(encounter=encounter).count() == 1
    rebuilt.refresh_from_db()
    assert (rebuilt.status, rebuilt.frequency_code, rebuilt.batch_id) == ("draft", "1", None)
    assert rebuilt.total_charge_cents == 20_000 and rebuilt.submitted_at is None
    assert list(rebuilt.lines.values_list("code", "units", "charge_cents")) == [
        ("99213", 2, 20_000)
    ]
    last = rebuilt.events.order_by("-id").first()
    assert (last.from_status, last.to_status, last.actor) == ("rejected", "draft", biller)
    assert "after its rejection" in last.note
    # Once rebuilt it is a draft again: a further build is refused as before.
    with pytest.raises(Conflict, match=f"already has claim {claim.control_number}"):
        services.claim_build(actor=biller, encounter=encounter)


@pytest.mark.django_db
def test_a_visit_rejected_by_one_payer_and_billed_to_another_closes_the_rejected_claim(biller):
    encounter = cf.encounter()
    first = services.claim_build(actor=biller, encounter=encounter)
    for to in ("ready", "batched", "submitted", "rejected"):
        services.claim_set_status(actor=biller, claim=first, to=to)
    # The desk finds the coverage was not the patient's: it ends, another is primary.
    Coverage.objects.filter(pk=first.coverage_id).update(end_date=DAY - timedelta(days=30))
    cf.coverage(encounter.patient, effective_date=DAY - timedelta(days=29))
    second = services.claim_build(actor=biller, encounter=encounter)
    assert second.pk != first.pk and second.coverage_id != first.coverage_id
    first.refresh_from_db()
    assert first.status == "void"
    assert f"as claim {second.control_number}" in first.events.order_by("-id").first().note


@pytest.mark.django_db
def test_self_pay_and_unfinished_encounters_make_no_claim(biller):
    self_pay = cf.encounter(with_coverage=False)
    with pytest.raises(InvalidInput, match="no primary coverage in force on 10/15/2026"):
        services.claim_build(actor=biller, encounter=self_pay)
    ended = cf.encounter(with_coverage=False)
    cf.coverage(ended.patient, end_date=DAY - timedelta(days=1))
    with pytest.raises(InvalidInput, match="self-pay"):
        services.claim_build(actor=biller, encounter=ended)
    coded = cf.encounter(status=EncounterStatus.CODED)
    with pytest.raises(InvalidTransition, match="finalize it"):
        services.claim_build(actor=biller, encounter=coded)
    assert _state() == (0, 0, 0)


@pytest.mark.django_db
def test_every_status_change_is_in_the_history_and_illegal_ones_are_refused(biller):
    claim = services.claim_build(actor=biller, encounter=cf.encounter())
    for to in ("ready", "batched", "submitted", "accepted", "paid"):
        services.claim_set_status(actor=biller, claim=claim, to=to, note=f"to {to}")
    history = list(claim.events.order_by("id").values_list("from_status", "to_status", "note"))
    assert history == [
        ("", "draft", history[0][2]), ("draft", "ready", "to ready"),
        ("ready", "batched", "to batched"), ("batched", "submitted", "to submitted"),
        ("submitted", "accepted", "to accepted"), ("accepted", "paid", "to paid"),
    ]  # fmt: skip
    with pytest.raises(InvalidTransition, match="paid: it cannot become draft"):
        services.claim_set_status(actor=biller, claim=claim, to="draft")
    assert Claim.objects.get(pk=claim.pk).status == "paid" and claim.events.count() == 6


def _sent(biller, payer_number="PCN-55"):
    claim = services.claim_build(actor=biller, encounter=cf.encounter(lines=[
        {"code": "99213", "charge_cents": 10_000}, {"code": "97110", "charge_cents": 4_000}]))  # fmt: skip
    Claim.objects.filter(pk=claim.pk).update(status="accepted", payer_claim_number=payer_number)
    claim.refresh_from_db()
    return claim


@pytest.mark.django_db
def test_a_void_names_the_payers_claim_number_and_copies_the_lines(biller):
    claim = _sent(biller)
    void = services.claim_void(actor=biller, claim=claim, reason="Billed the wrong patient")
    assert (void.frequency_code, void.replaces, void.payer_claim_number) == ("8", claim, "PCN-55")
    assert void.status == "draft" and void.total_charge_cents == 14_000
    assert list(void.lines.values_list("code", flat=True)) == ["99213", "97110"]
    assert "Billed the wrong patient" in void.events.get().note
    before = _state()
    with pytest.raises(Conflict, match="already been voided"):
        services.claim_void(actor=biller, claim=claim, reason="again")
    with pytest.raises(Conflict, match="already been voided"):
        services.claim_replace(actor=biller, claim=claim, reason="too late")
    assert _state() == before


@pytest.mark.django_db
def test_a_replacement_carries_the_corrected_encounters_lines(biller):
    claim = _sent(biller)
    ServiceLine.objects.filter(encounter_id=claim.encounter_id, line_number=2).update(units=3,
                                                                                   charge_cents=12_000)  # fmt: skip
    replacement = services.claim_replace(actor=biller, claim=claim, reason="Units corrected")
    assert (replacement.frequency_code, replacement.replaces_id) == ("7", claim.pk)
    assert replacement.control_number != claim.control_number
    assert list(replacement.lines.values_list("code", "units")) == [("99213", 1), ("97110", 3)]
    assert replacement.total_charge_cents == 22_000
    assert list(claim.lines.values_list("units", flat=True)) == [1, 1]  # the original as sent
    with pytest.raises(Conflict, match=f"was replaced by claim {replacement.control_number}"):
        services.claim_replace(actor=biller, claim=claim, reason="twice")
    with pytest.raises(Conflict, match="correct or void the replacement"):
        services.claim_void(actor=biller, claim=claim, reason="and void it too")
    assert Claim.objects.filter(replaces=claim).count() == 1


@pytest.mark.django_db
def test_a_rejected_replacement_or_void_is_rebuilt_when_made_again(biller):
    claim = _sent(biller)
    replacement = services.claim_replace(actor=biller, claim=claim, reason="Units corrected")
    Claim.objects.filter(pk=replacement.pk).update(status="rejected")
    ServiceLine.objects.filter(encounter_id=claim.encounter_id, line_number=2).update(units=5)
    again = services.claim_replace(actor=biller, claim=claim, reason="Units corrected again")
    assert again.pk == replacement.pk and Claim.objects.filter(replaces=claim).count() == 1
    again.refresh_from_db()
    assert again.status == "draft" and again.frequency_code == "7"
    assert list(again.lines.values_list("units", flat=True)) == [1, 5]
    last = again.events.order_by("-id").first()
    assert (last.from_status, last.to_status) == ("rejected", "draft")
    assert "Rebuilt after its rejection" in last.note
    other = _sent(biller, payer_number="PCN-77")
    void = services.claim_void(actor=biller, claim=other, reason="Not ours")
    Claim.objects.filter(pk=void.pk).update(status="rejected")
    assert services.claim_void(actor=biller, claim=other, reason="Not ours, again").pk == void.pk
    assert Claim.objects.get(pk=void.pk).status == "draft"


@pytest.mark.django_db
def test_void_and_replacement_need_the_payers_number_and_a_claim_the_payer_has(biller):
    no_number = _sent(biller, payer_number="")
    before = _state()
    with pytest.raises(InvalidInput, match="has no payer claim number yet"):
        services.claim_void(actor=biller, claim=no_number, reason="wrong")
    with pytest.raises(InvalidInput, match="has no payer claim number yet"):
        services.claim_replace(actor=biller, claim=no_number, reason="wrong")
    draft = services.claim_build(actor=biller, encounter=cf.encounter())
    before = _state()
    with pytest.raises(InvalidTransition, match="only a claim the payer has"):
        services.claim_void(actor=biller, claim=draft, reason="wrong")
    with pytest.raises(InvalidInput, match="say why"):
        services.claim_void(actor=biller, claim=no_number, reason="")
    assert _state() == before


@pytest.mark.django_db
def test_the_payer_claim_number_is_recorded_in_words(biller):
    claim = _sent(biller, payer_number="")
    with pytest.raises(InvalidInput, match="letters, digits or dashes"):
        services.claim_record_payer_number(actor=biller, claim=claim, number="a b")
    services.claim_record_payer_number(actor=biller, claim=claim, number="2026-XY-1")
    assert Claim.objects.get(pk=claim.pk).payer_claim_number == "2026-XY-1"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_builds_racing_on_one_encounter_make_one_claim():
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the race needs PostgreSQL (set DATABASE_URL)")
    factories.practice()
    biller = factories.user("biller")
    encounter = cf.encounter(date_of_service=date(2026, 9, 1))
    count = 6

    def attempt(_n: int) -> str:
        try:
            services.claim_build(actor=biller, encounter=encounter)
        except Conflict as exc:
            return f"conflict:{exc.code}"
        return "built"

    outcomes = at_once(count, attempt)
    assert sorted(outcomes) == ["built"] + ["conflict:claim_exists"] * (count - 1)
    assert Claim.objects.filter(encounter=encounter).count() == 1
    assert ClaimEvent.objects.filter(claim__encounter=encounter).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_void_and_a_replacement_racing_make_one_correction():
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the race needs PostgreSQL (set DATABASE_URL)")
    factories.practice()
    biller = factories.user("biller")
    claim = _sent(biller)
    count = 8

    def attempt(n: int) -> str:
        change = services.claim_void if n % 2 else services.claim_replace
        try:
            change(actor=biller, claim=Claim.objects.get(pk=claim.pk), reason=f"try {n}")
        except Conflict:
            return "conflict"
        return "made"

    outcomes = at_once(count, attempt)
    assert sorted(outcomes) == ["conflict"] * (count - 1) + ["made"]
    assert Claim.objects.filter(replaces=claim).count() == 1


@pytest.mark.django_db
def test_an_answer_moves_only_the_claims_still_waiting_for_it(biller):
    waiting = services.claim_build(actor=biller, encounter=cf.encounter())
    other = services.claim_build(actor=biller, encounter=cf.encounter())
    Claim.objects.filter(pk__in=[waiting.pk, other.pk]).update(status="batched")
    waiting.refresh_from_db()
    other.refresh_from_db()
    Claim.objects.filter(pk=other.pk).update(status="ready")  # moved meanwhile: stale instance
    moved = services.move_claims_from(
        [waiting, other], allowed_from=("batched",), to="rejected", actor=biller,
        note="999 rejected", details={"kind": "999"},
    )  # fmt: skip
    assert moved == [waiting] and waiting.status == "rejected" and other.status == "batched"
    assert Claim.objects.get(pk=other.pk).status == "ready"
    assert list(waiting.events.order_by("id").values_list("from_status", "to_status",
                                                          "details"))[1:] == [
        ("batched", "rejected", {"kind": "999"})
    ]  # fmt: skip
    assert other.events.count() == 1
    # not in the statuses the answer applies to: skipped, not refused
    assert services.move_claims_from([waiting], allowed_from=("batched",), to="submitted",
                                     actor=biller) == []  # fmt: skip
    with pytest.raises(InvalidTransition, match="rejected: it cannot become paid"):
        services.move_claims_from([waiting], allowed_from=("rejected",), to="paid", actor=biller)
    services.note_claims([waiting], actor=biller, note="277: pending", details={"kind": "277"})
    last = waiting.events.order_by("-id").first()
    assert (last.from_status, last.to_status, last.note, last.details) == (
        "rejected", "rejected", "277: pending", {"kind": "277"}
    )  # fmt: skip
    assert Claim.objects.get(pk=waiting.pk).status == "rejected" and waiting.events.count() == 3
