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


def test_the_worklist_marks_a_sent_claim_whose_visit_changed_in_a_fixed_number_of_queries(
    sent, users, client_for
):
    other = services.claim_build(actor=users["biller"], encounter=cf.encounter(
        diagnoses=["I10"], lines=[{"code": "99213", "charge_cents": 13_500}]))  # fmt: skip
    Claim.objects.filter(pk=other.pk).update(status="submitted")
    ServiceLine.objects.filter(encounter=sent.encounter).update(units=2)
    biller = client_for("biller")
    url = reverse("claims:worklist") + "?status=submitted"
    body = biller.get(url).content.decode()
    rows = {row.split("</tr>")[0] for row in body.split("<tr")}
    changed = [r for r in rows if sent.control_number in r]
    unchanged = [r for r in rows if other.control_number in r]
    assert changed and "Visit changed" in changed[0] and "99204 x2 $245.00" in changed[0]
    assert unchanged and "Visit changed" not in unchanged[0]
    one_changed = _queries(biller, url)
    for _ in range(3):
        extra = services.claim_build(actor=users["biller"], encounter=cf.encounter(
            diagnoses=["I10"], lines=[{"code": "99213", "charge_cents": 13_500}]))  # fmt: skip
        Claim.objects.filter(pk=extra.pk).update(status="submitted")
        EncounterDiagnosis.objects.filter(encounter=extra.encounter).update(code="I11.9")
    assert biller.get(url).content.decode().count(">Visit changed<") == 4
    assert _queries(biller, url) == one_changed  # four claims more to check, no query more


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)
