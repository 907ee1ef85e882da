"""A claim out with the payer says so on its page when its visit was corrected after it was
sent: the payer has only what the claim billed until a replacement goes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medoffice.claims import claims_services as services
from medoffice.claims.models import Claim, Encounter, EncounterDiagnosis, ServiceLine
from medoffice.claims.selectors_claims import visit_changes
from medoffice.testing import claims_factories as cf

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(users):
    cf.procedure_codes(["99204", "99213"])
    claim = services.claim_build(actor=users["biller"], encounter=cf.encounter(
        diagnoses=["E11.9"], lines=[{"code": "99204", "charge_cents": 24_500}]))  # fmt: skip
    Claim.objects.filter(pk=claim.pk).update(status="submitted")
    claim.refresh_from_db()
    return claim


def test_a_sent_claim_whose_visit_is_unchanged_says_nothing(sent, client_for):
    assert visit_changes(sent) == []
    body = client_for("biller").get(reverse("claims:claim_detail", args=[sent.pk])).content
    assert b'id="visit-changed"' not in body


def test_a_sent_claim_whose_visit_was_recoded_says_how(sent, client_for):
    encounter = sent.encounter
    Encounter.objects.filter(pk=encounter.pk).update(status="draft")
    ServiceLine.objects.filter(encounter=encounter).update(code="99213", charge_cents=13_500)
    EncounterDiagnosis.objects.filter(encounter=encounter).update(code="E11.65")
    sent.refresh_from_db()
    assert visit_changes(sent) == [
        "The visit is reopened (draft) for correction.",
        "The claim bills 99204 $245.00; the visit now has 99213 $135.00.",
        "The claim's diagnoses are E11.9; the visit's now E11.65.",
    ]
    body = client_for("biller").get(reverse("claims:claim_detail", args=[sent.pk])).content
    text = body.decode()
    assert 'id="visit-changed"' in text and "99204 $245.00" in text
    assert "record the payer's claim number first" in text


def test_a_claim_not_yet_sent_says_nothing(sent):
    ServiceLine.objects.filter(encounter=sent.encounter).update(code="99213")
    for status in ("ready", "draft", "scrub_errors"):
        Claim.objects.filter(pk=sent.pk).update(status=status)
        sent.refresh_from_db()
        assert visit_changes(sent) == [], status
