"""The worklist and claim pages, the claims API and `medoffice claims scrub`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from medoffice import cli
from medoffice.claims import claims_services as services
from medoffice.claims.models import Claim, ClaimEvent, ClaimStatus, ScrubFinding
from medoffice.claims.scrubber import scrub_one
from medoffice.testing import claims_factories as cf
from medoffice.testing.ops import one_line

pytestmark = pytest.mark.django_db
TODAY = cf.DEFAULT_DAY + timedelta(days=10)


@pytest.fixture
def codes(db):
    cf.procedure_codes(["99213", "97110"])
    cf.modifier("25")


@pytest.fixture
def claims(codes, users):
    """A clean draft, one with a pointer error, and an accepted one with the payer's number."""
    biller = users["biller"]
    clean = services.claim_build(actor=biller, encounter=cf.encounter())
    broken = services.claim_build(actor=biller, encounter=cf.encounter(
        lines=[{"code": "99213", "diagnosis_pointers": [4]}]))  # fmt: skip
    sent = services.claim_build(actor=biller, encounter=cf.encounter(lines=[{"code": "97110"}]))
    Claim.objects.filter(pk=sent.pk).update(status="accepted", payer_claim_number="PCN-9")
    sent.refresh_from_db()
    return {"clean": clean, "broken": broken, "sent": sent}


def test_the_worklist_shows_claims_by_status_with_the_findings_inline(claims, client_for, users):
    scrub_one(actor=users["biller"], claim=claims["broken"])
    page = client_for("biller").get(reverse("claims:worklist"), {"status": "scrub_errors"})
    assert page.status_code == 200
    body = page.content.decode()
    assert claims["broken"].control_number in body
    assert claims["clean"].control_number not in body
    assert "pointer 4 is out of range" in body
    assert 'aria-current="page">Scrubber errors <span class="badge">1</span>' in body


def test_the_worklist_filters_by_payer_provider_age_and_amount(claims, client_for):
    client = client_for("biller")
    clean = claims["clean"]
    body = client.get(reverse("claims:worklist"), {"payer": clean.payer_id}).content.decode()
    assert clean.control_number in body and claims["broken"].control_number not in body
    provider = clean.encounter.rendering_provider_id
    body = client.get(reverse("claims:worklist"), {"provider": provider}).content.decode()
    assert clean.control_number in body and claims["sent"].control_number not in body
    Claim.objects.filter(pk=clean.pk).update(total_charge_cents=99_900)
    body = client.get(reverse("claims:worklist"), {"min_amount": "500"}).content.decode()
    assert clean.control_number in body and claims["broken"].control_number not in body
    body = client.get(reverse("claims:worklist"), {"min_age": "100000"}).content.decode()
    assert "No claims match." in body
    body = client.get(reverse("claims:worklist"), {"sort": "-amount"}).content.decode()
    assert body.index(clean.control_number) < body.index(claims["broken"].control_number)


def test_amount_filters_that_are_not_amounts_are_ignored(claims, client_for):
    client = client_for("biller")
    for value in ("NaN", "Infinity", "-NaN", "sNaN", "1e400", "-5"):
        assert client.get("/claims/worklist/", {"min_amount": value}).status_code == 200
        assert client.get("/claims/worklist/", {"max_amount": value}).status_code == 200


def test_the_status_tabs_keep_the_filters_encoded(claims, client_for):
    html = client_for("biller").get("/claims/worklist/", {"payer": "1&status=paid"}).content
    assert b"payer=1%26status%3Dpaid" in html and b"payer=1&amp;status=paid" not in html


def test_front_desk_may_not_see_claims(claims, client_for):
    client = client_for("front_desk")
    assert client.get(reverse("claims:worklist")).status_code == 403
    assert client.get(reverse("claims:claim_detail", args=[claims["clean"].pk])).status_code == 403
    assert client.post(reverse("claims:claim_scrub", args=[claims["clean"].pk])).status_code == 403
    assert Claim.objects.get(pk=claims["clean"].pk).status == "draft"


def test_the_auditor_reads_but_has_no_actions(claims, client_for):
    page = client_for("auditor").get(reverse("claims:claim_detail", args=[claims["clean"].pk]))
    assert page.status_code == 200 and 'id="scrub-form"' not in page.content.decode()
    response = client_for("auditor").post(reverse("claims:claim_scrub", args=[claims["clean"].pk]))
    assert response.status_code == 403


def test_the_claim_page_scrubs_overrides_voids_and_replaces(claims, client_for):
    client = client_for("biller")
    clean = claims["clean"]
    page = client.get(reverse("claims:claim_detail", args=[clean.pk])).content.decode()
    assert 'id="scrub-form"' in page and "Not scrubbed yet" in page
    client.post(reverse("claims:claim_scrub", args=[clean.pk]))
    assert Claim.objects.get(pk=clean.pk).status == "ready"
    page = client.get(reverse("claims:claim_detail", args=[clean.pk])).content.decode()
    assert "No problems found" in page and "draft" in page and "Scrubbed: clean." in page
    # A duplicate (warning only) is held and overridden with a reason.
    twin = services.claim_build(actor=clean.created_by, encounter=cf.encounter(
        patient=clean.encounter.patient))  # fmt: skip
    client.post(reverse("claims:claim_scrub", args=[twin.pk]))
    assert Claim.objects.get(pk=twin.pk).status == "scrub_errors"
    page = client.get(reverse("claims:claim_detail", args=[twin.pk])).content.decode()
    assert 'id="override-form"' in page
    client.post(reverse("claims:claim_override", args=[twin.pk]), {"reason": "Second visit"})
    twin.refresh_from_db()
    assert (twin.status, twin.override_reason) == ("ready", "Second visit")
    # Void and replacement of the accepted claim.
    sent = claims["sent"]
    response = client.post(reverse("claims:claim_void", args=[sent.pk]), {"reason": "Wrong payer"})
    void = Claim.objects.get(replaces=sent, frequency_code="8")
    assert response.url == reverse("claims:claim_detail", args=[void.pk])
    response = client.post(reverse("claims:claim_replace", args=[sent.pk]), {"reason": "x"})
    assert not Claim.objects.filter(replaces=sent, frequency_code="7").exists()
    page = client.get(response.url).content.decode()
    assert "already been voided" in page


def test_a_refused_action_says_why_and_changes_nothing(claims, client_for):
    client = client_for("biller")
    broken = claims["broken"]
    client.post(reverse("claims:claim_scrub", args=[broken.pk]))
    before = ClaimEvent.objects.count()
    response = client.post(reverse("claims:claim_override", args=[broken.pk]), {"reason": "ok"},
                           follow=True)  # fmt: skip
    assert "fixed, not overridden" in response.content.decode()
    assert ClaimEvent.objects.count() == before
    assert Claim.objects.get(pk=broken.pk).status == "scrub_errors"


def test_a_rejected_claim_says_why_and_how_it_goes_again(claims, client_for, users):
    sent = claims["sent"]
    services.claim_set_status(actor=users["biller"], claim=sent, to="rejected",
                              note="277CA rejected: Subscriber ID invalid")  # fmt: skip
    html = client_for("biller").get(reverse("claims:claim_detail", args=[sent.pk])).content
    help_box = html.decode().split('id="rejected-help"')[1].split("</div>")[0]
    assert "277CA rejected: Subscriber ID invalid" in help_box
    assert f'href="/claims/encounters/{sent.encounter_id}/"' in help_box
    assert 'id="scrub-form"' in html.decode()  # scrubbed again after a correction


# --- API ------------------------------------------------------------------------------------


def test_api_lists_reads_and_scrubs(claims, client_for):
    client = client_for("biller")
    listed = client.get("/api/claims/", {"status": "draft", "sort": "number"}).json()
    assert listed["count"] == 2
    assert {c["control_number"] for c in listed["results"]} == {
        claims["clean"].control_number, claims["broken"].control_number}  # fmt: skip
    scrubbed = client.post(f"/api/claims/{claims['broken'].pk}/scrub").json()
    assert scrubbed["errors"] == 1 and scrubbed["claim"]["status"] == "scrub_errors"
    assert scrubbed["claim"]["findings"][0]["code"] == "pointer_out_of_range"
    read = client.get(f"/api/claims/{claims['broken'].pk}").json()
    assert [h["to_status"] for h in read["history"]] == ["draft", "scrub_errors"]
    assert read["lines"][0]["charge"] == "125.00"
    bad = client.get("/api/claims/", {"status": "lost"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"].lower()
    assert client.get("/api/claims/999999").status_code == 404


def test_api_void_and_resubmit_take_an_idempotency_key(claims, client_for):
    client = client_for("biller")
    sent = claims["sent"]
    url = f"/api/claims/{sent.pk}/resubmit"
    body = json.dumps({"reason": "Corrected units"})
    assert client.post(url, body, content_type="application/json").status_code == 400
    first = client.post(url, body, content_type="application/json",
                        headers={"Idempotency-Key": "r-1"})  # fmt: skip
    assert first.status_code == 201 and first.json()["frequency_code"] == "7"
    again = client.post(url, body, content_type="application/json",
                        headers={"Idempotency-Key": "r-1"})  # fmt: skip
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert Claim.objects.filter(replaces=sent).count() == 1
    # Once replaced, the payer's claim is the replacement's: it is the one voided.
    refused = client.post(f"/api/claims/{sent.pk}/void", json.dumps({"reason": "Not ours"}),
                          content_type="application/json", headers={"Idempotency-Key": "v-1"})  # fmt: skip
    assert refused.status_code == 409 and "void the replacement" in refused.json()["detail"]
    replacement = Claim.objects.get(pk=first.json()["id"])
    Claim.objects.filter(pk=replacement.pk).update(status="accepted")
    void = client.post(f"/api/claims/{replacement.pk}/void", json.dumps({"reason": "Not ours"}),
                       content_type="application/json", headers={"Idempotency-Key": "v-3"})  # fmt: skip
    assert void.status_code == 201 and void.json()["frequency_code"] == "8"
    assert Claim.objects.get(pk=void.json()["id"]).replaces_id == replacement.pk
    no_number = client.post(f"/api/claims/{claims['clean'].pk}/void", body,
                            content_type="application/json",
                            headers={"Idempotency-Key": "v-2"})  # fmt: skip
    assert (
        no_number.status_code == 409 and "only a claim the payer has" in no_number.json()["detail"]
    )


def test_api_permissions_are_the_pages(claims, client_for):
    desk = client_for("front_desk")
    assert desk.get("/api/claims/").status_code == 403
    assert desk.get(f"/api/claims/{claims['clean'].pk}").status_code == 403
    assert desk.post(f"/api/claims/{claims['clean'].pk}/scrub").status_code == 403
    auditor = client_for("auditor")
    assert auditor.get("/api/claims/").status_code == 200
    assert auditor.post(f"/api/claims/{claims['clean'].pk}/scrub").status_code == 403
    response = auditor.post(f"/api/claims/{claims['sent'].pk}/void", json.dumps({"reason": "x"}),
                            content_type="application/json", headers={"Idempotency-Key": "a-1"})  # fmt: skip
    assert response.status_code == 403
    assert not Claim.objects.filter(replaces=claims["sent"]).exists()
    assert not ScrubFinding.objects.exists()


CLAIM_ENDPOINTS = {  # (path, method): (the permission, takes an Idempotency-Key)
    ("/api/claims/", "get"): ("claims.view", False),
    ("/api/claims/{claim_id}", "get"): ("claims.view", False),
    ("/api/claims/{claim_id}/scrub", "post"): ("claims.submit", False),
    ("/api/claims/{claim_id}/resubmit", "post"): ("claims.submit", True),
    ("/api/claims/{claim_id}/void", "post"): ("claims.submit", True),
}


def test_the_claim_endpoints_are_in_the_openapi_document_with_permission_and_key(client_for):
    schema = client_for("biller").get("/api/openapi.json").json()
    claim_paths = {
        (path, method)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/claims/") and not path.startswith(
            ("/api/claims/encounters", "/api/claims/eligibility"))
        for method in operations
    }  # fmt: skip
    assert claim_paths == set(CLAIM_ENDPOINTS)  # every claims endpoint, and only these
    assert set(schema["components"]["securitySchemes"]) == {"BearerToken", "SessionAuth"}
    for (path, method), (permission, keyed) in CLAIM_ENDPOINTS.items():
        operation = schema["paths"][path][method]
        assert operation["x-permissions"] == [permission], path
        assert operation["security"] == [{"BearerToken": []}, {"SessionAuth": []}], path
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if keyed:
            assert headers["Idempotency-Key"]["required"] is True, path
        else:
            assert "Idempotency-Key" not in headers, path
    assert schema["paths"]["/api/claims/{claim_id}/void"]["post"]["responses"].keys() >= {"201"}


@pytest.mark.parametrize("role", ["front_desk", "medical_assistant"])
def test_a_role_without_claims_permission_gets_403_from_every_claim_endpoint(
    claims, client_for, role
):
    client = client_for(role)
    sent = claims["sent"]
    before = list(Claim.objects.order_by("pk").values_list("pk", "status"))
    for (path, method), (_permission, keyed) in CLAIM_ENDPOINTS.items():
        url = path.replace("{claim_id}", str(sent.pk))
        headers = {"Idempotency-Key": f"{role}-{method}-{path}"} if keyed else {}
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, json.dumps({"reason": "Corrected units"}),
                                   content_type="application/json", headers=headers)  # fmt: skip
        assert response.status_code == 403, (role, path)
    assert list(Claim.objects.order_by("pk").values_list("pk", "status")) == before
    assert not ScrubFinding.objects.exists()
    assert not ClaimEvent.objects.filter(claim=sent).exclude(to_status="draft").exists()


# --- Command line ---------------------------------------------------------------------------


def test_claims_scrub_prints_the_findings_per_claim(claims, users, capsys):
    assert cli.main(["claims", "scrub"]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    assert cli.main(["claims", "scrub", "--as", users["front_desk"].username]) == 1
    capsys.readouterr()
    assert Claim.objects.filter(status="draft").count() == 2
    assert cli.main(["claims", "scrub", "--as", users["biller"].username]) == 0
    out = capsys.readouterr().out
    assert f"{claims['clean'].control_number}: ready, 0 error(s), 0 warning(s)" in out
    assert f"{claims['broken'].control_number}: scrub_errors, 1 error(s)" in out
    assert "  error line 1 pointer_out_of_range: Line 1: diagnosis pointer 4" in out
    assert "Scrubbed 2 claim(s): 1 ready, 1 held." in out
    assert cli.main(["claims", "scrub", "--as", users["biller"].username]) == 0
    assert "Scrubbed 1 claim(s)" in capsys.readouterr().out  # the ready one only with --all
    assert cli.main(["claims", "scrub", "--all", "--as", users["biller"].username]) == 0
    assert "Scrubbed 2 claim(s)" in capsys.readouterr().out
    assert Claim.objects.get(pk=claims["clean"].pk).status == ClaimStatus.READY


def _tab_counts(body: str) -> dict[str, int]:
    """The worklist's tabs as {label: count} (the "All" tab included)."""
    import re

    start = body.index('id="status-tabs"')
    nav = body[start : body.index("</nav>", start)]
    return {
        label.strip(): int(count)
        for label, count in re.findall(r'>([^<>]+) <span class="badge">(\d+)</span>', nav)
    }


def test_every_status_is_on_one_tab_and_the_tabs_add_up_to_all(codes, users, client_for):
    biller = users["biller"]
    made = [services.claim_build(actor=biller, encounter=cf.encounter()) for _ in ClaimStatus]
    for claim, status in zip(made, ClaimStatus.values, strict=True):
        Claim.objects.filter(pk=claim.pk).update(status=status)
    page = client_for("biller").get(reverse("claims:worklist"))
    tabs = _tab_counts(page.content.decode())
    assert set(tabs) == {"All", *ClaimStatus.labels}
    assert tabs["All"] == Claim.objects.count() == len(ClaimStatus)
    assert sum(n for label, n in tabs.items() if label != "All") == tabs["All"]
    assert all(n == 1 for n in tabs.values() if n != tabs["All"])
    body = client_for("biller").get(reverse("claims:worklist"), {"status": "void"}).content
    assert made[ClaimStatus.values.index("void")].control_number.encode() in body
    assert made[ClaimStatus.values.index("batched")].control_number.encode() not in body


def test_the_tabs_count_under_the_filters_and_their_links_keep_them(claims, client_for):
    clean = claims["clean"]
    Claim.objects.filter(pk=clean.pk).update(total_charge_cents=99_900)
    client = client_for("biller")
    body = client.get(reverse("claims:worklist"), {"min_amount": "500"}).content.decode()
    tabs = _tab_counts(body)
    assert tabs["All"] == 1 and tabs["Draft"] == 1 and tabs["Accepted"] == 0
    assert sum(n for label, n in tabs.items() if label != "All") == 1
    assert 'href="?status=accepted&amp;min_amount=500"' in body
    assert 'href="?min_amount=500"' in body  # the "All" tab


def test_a_claim_held_for_warnings_only_says_so(claims, client_for, users):
    """A duplicate warning holds a claim without an error: it reads "Warnings to review (1)"
    in the worklist and on its page; one with errors "Scrubber errors (n)"."""
    first = claims["clean"]
    second = services.claim_build(actor=users["biller"],
                                  encounter=cf.encounter(patient=first.encounter.patient))  # fmt: skip
    for held in (second, claims["broken"]):
        scrub_one(actor=users["biller"], claim=held, today=TODAY)
    client = client_for("biller")
    body = client.get(reverse("claims:worklist"), {"status": "scrub_errors"}).content.decode()
    row = body.split(f'id="claim-{second.pk}"')[1].split("</tr>")[0]
    assert "Warnings to review (1)" in row
    broken = body.split(f'id="claim-{claims["broken"].pk}"')[1].split("</tr>")[0]
    assert "Scrubber errors (1)" in broken
    page = client.get(reverse("claims:claim_detail", args=[second.pk])).content.decode()
    assert '<small class="help">Warnings to review (1)</small>' in page
