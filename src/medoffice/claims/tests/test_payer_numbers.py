"""The payer's claim number: one read from a 277CA or 277 that an 837P could not send back
(over 50 characters, or holding delimiters) is left out with a warning naming the claim and
the rest of the file applies; the scrubber holds a correction whose number cannot go; the
biller records the number on the claim's page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medoffice.claims import acknowledgements as acks
from medoffice.claims import claims_services as services
from medoffice.claims.models import Claim, ClaimEvent, ClaimStatus, FrequencyCode
from medoffice.claims.scrubber import load as load_facts
from medoffice.claims.scrubber import scrub
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotPermitted
from medoffice.testing.claim_builders import make_claim
from medoffice.x12.tests.test_corpus import CORPUS

needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared X12 corpus is not here")
ACCEPTED_277CA = "277ca/imsweb__x12-parser__x12_277CA_accepted.txt"  # claim 5781, payer number
NUMBER = b"1107000000014420"


def _277ca_with(number: bytes) -> bytes:
    assert CORPUS is not None
    content = (CORPUS / ACCEPTED_277CA).read_bytes()
    assert content.count(NUMBER) == 1
    return content.replace(NUMBER, number)


@needs_corpus
@pytest.mark.django_db
@pytest.mark.parametrize("number", [b"P" + b"9" * 80, b"INJ:X^NM1"], ids=["long", "delimiters"])
def test_a_payer_number_an_837p_cannot_carry_is_left_out_with_a_warning(users, number):
    claim = make_claim(lines=1, control_number="5781", status=ClaimStatus.SUBMITTED)
    result = acks.apply_277ca(_277ca_with(number), actor=users["biller"])
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ACCEPTED and claim.payer_claim_number == ""
    assert [(o.reference, o.result) for o in result.matched] == [("5781", "accepted")]
    (warning,) = [w for w in result.warnings if "REF*1K" in w]
    assert warning.startswith("Claim 5781: the payer claim number (REF*1K) ")
    assert "is not 1 to 50 letters, digits or dashes; it was not recorded" in warning


@needs_corpus
@pytest.mark.django_db
def test_a_payer_number_that_fits_is_recorded(users):
    claim = make_claim(lines=1, control_number="5781", status=ClaimStatus.SUBMITTED)
    result = acks.apply_277ca(_277ca_with(b"PAYER-778"), actor=users["biller"])
    claim.refresh_from_db()
    assert claim.payer_claim_number == "PAYER-778"
    assert not [w for w in result.warnings if "REF*1K" in w]


@pytest.mark.django_db
def test_the_scrubber_holds_a_correction_whose_payer_number_cannot_go(users):
    original = make_claim(lines=1, status=ClaimStatus.ACCEPTED, payer_claim_number="PAYER-778")
    replacement = make_claim(lines=1, coverage=original.coverage, status=ClaimStatus.READY,
                             frequency_code=FrequencyCode.REPLACEMENT, replaces=original)  # fmt: skip

    def codes() -> list[str]:
        facts, reference = load_facts([replacement.pk])
        return [f.code for f in scrub(facts[0], replacement.encounter.date_of_service, reference)]

    assert "payer_claim_number_invalid" not in codes()
    Claim.objects.filter(pk=original.pk).update(payer_claim_number="INJ*X~NM1")
    assert "payer_claim_number_invalid" in codes()


@pytest.mark.django_db
def test_the_biller_records_the_payer_number_on_the_claims_page(users, client_for):
    claim = make_claim(lines=1, status=ClaimStatus.SUBMITTED)
    page = reverse("claims:claim_detail", args=[claim.pk])
    url = reverse("claims:claim_payer_number", args=[claim.pk])
    biller = client_for("biller")
    shown = biller.get(page).content.decode()
    assert 'id="payer-number-form"' in shown and 'id="correct-needs-number"' in shown
    assert 'id="replace-form"' not in shown and 'id="void-form"' not in shown
    answer = biller.post(url, {"number": "P 1*2"}, follow=True)
    assert "Payer claim number: 1 to 50 letters, digits or dashes." in answer.content.decode()
    claim.refresh_from_db()
    assert claim.payer_claim_number == ""
    biller.post(url, {"number": " PAYER-991 "})
    claim.refresh_from_db()
    assert claim.payer_claim_number == "PAYER-991"
    event = ClaimEvent.objects.filter(claim=claim).order_by("-id").first()
    assert (event.note, event.actor) == ("Payer claim number recorded: PAYER-991.", users["biller"])
    shown = biller.get(page).content.decode()
    assert 'id="replace-form"' in shown and 'id="correct-needs-number"' not in shown
    assert client_for("front_desk").post(url, {"number": "X1"}).status_code == 403
    claim.refresh_from_db()
    assert claim.payer_claim_number == "PAYER-991"


@pytest.mark.django_db
def test_recording_a_payer_number_is_refused_where_it_cannot_be(users):
    draft = make_claim(lines=1)
    with pytest.raises(InvalidTransition, match="the payer has been sent"):
        services.claim_record_payer_number(actor=users["biller"], claim=draft, number="A1")
    sent = make_claim(lines=1, status=ClaimStatus.SUBMITTED)
    with pytest.raises(InvalidInput, match="1 to 50 letters"):
        services.claim_record_payer_number(actor=users["biller"], claim=sent, number="9" * 51)
    with pytest.raises(NotPermitted):
        services.claim_record_payer_number(actor=users["front_desk"], claim=sent, number="A1")


@pytest.mark.django_db
def test_a_correction_sends_the_originals_number_as_recorded_now(users):
    from medoffice.claims import batches
    from medoffice.core.models import Practice
    from medoffice.x12 import read

    original = make_claim(lines=1, status=ClaimStatus.ACCEPTED, payer_claim_number="PCN-36B")
    void = services.claim_void(actor=users["biller"], claim=original, reason="billed in error")
    services.claim_record_payer_number(actor=users["biller"], claim=original, number="PCN-36C")
    Practice.objects.update(phone="+12175550100")
    content = batches.write_837p(
        Claim.objects.filter(pk=void.pk), batches.practice_exchange(receiver_id="RCV01"),
        interchange_number=5, group_number=5, created=void.created_at, reference="000000005",
    )  # fmt: skip
    (sent,) = next(read(content).transactions()).data.claims()
    assert ("F8", "PCN-36C") in sent.references


@pytest.mark.django_db
def test_the_scrubber_holds_a_claim_whose_coverage_moved_to_another_payer(users):
    from medoffice.patients.models import Coverage
    from medoffice.testing import patients_factories as pf

    claim = make_claim(lines=1, status=ClaimStatus.READY)

    def found() -> dict[str, str]:
        facts, reference = load_facts([claim.pk])
        day = claim.encounter.date_of_service
        return {f.code: f.message for f in scrub(facts[0], day, reference)}

    assert "payer_not_the_coverages" not in found()
    other = pf.payer(name="Summit Mutual")
    Coverage.objects.filter(pk=claim.coverage_id).update(payer=other)
    message = found()["payer_not_the_coverages"]
    assert "but its coverage is now with Summit Mutual" in message
