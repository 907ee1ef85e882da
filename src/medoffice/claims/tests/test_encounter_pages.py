"""The encounter pages: the list to code (a clinician's own visits only), the coding page with
its errors next to the fields, mark coded, finalize and reopen, and code search as you type."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from medoffice.claims import claims_services
from medoffice.claims import encounters as svc
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import Claim, Encounter, EncounterStatus
from medoffice.ledger.models import JournalEntry
from medoffice.testing import patients_factories
from medoffice.testing import scheduling_factories as sf

pytestmark = pytest.mark.django_db


def make(office, users, *, provider=None) -> Encounter:
    return svc.encounter_create(
        actor=users["biller"], patient=office.patient, location=office.location,
        rendering_provider=provider or office.provider, date_of_service=office.day,
    )  # fmt: skip


def form(**fields) -> dict[str, str]:
    data = {"action": "save", "dx_1": "E11.9", "line_1_code": "99213", "line_1_units": "1",
            "line_1_ptr_1": "1"}  # fmt: skip
    data.update(fields)
    return data


class _Form(HTMLParser):
    """What a browser sends from the coding form as the page shows it: each input's value and
    each select's chosen option (the button pressed is added by the caller)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.select = ""
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "encounter-codes"
        elif self.inside and tag == "input" and a.get("name"):
            self.values[a["name"]] = a.get("value") or ""
        elif self.inside and tag == "select":
            self.select = a.get("name") or ""
            self.values[self.select] = ""
        elif self.inside and tag == "option" and "selected" in a and self.select:
            self.values[self.select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = ""


def form_as_shown(client, encounter) -> dict[str, str]:
    parser = _Form()
    parser.feed(client.get(f"/claims/encounters/{encounter.pk}/").content.decode())
    assert parser.values, "the coding form is on the page"
    return parser.values


def test_the_list_shows_a_clinician_their_own_visits_only(office, users, client_for):
    mine = make(office, users)
    theirs = make(office, users, provider=office.other_provider)
    page = client_for("clinician").get("/claims/encounters/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/claims/encounters/{mine.pk}/" in html
    assert f"/claims/encounters/{theirs.pk}/" not in html
    assert 'name="provider"' not in html
    coder = client_for("biller").get("/claims/encounters/").content.decode()
    assert f"/claims/encounters/{mine.pk}/" in coder and f"/claims/encounters/{theirs.pk}/" in coder
    only_b = (
        client_for("biller")
        .get(f"/claims/encounters/?provider={office.other_provider.pk}")
        .content.decode()
    )
    assert f"/claims/encounters/{theirs.pk}/" in only_b
    assert f"/claims/encounters/{mine.pk}/" not in only_b
    later = (
        client_for("biller")
        .get(
            f"/claims/encounters/?since={(office.day.replace(year=office.day.year + 1)).isoformat()}"
        )
        .content.decode()
    )
    assert f"/claims/encounters/{mine.pk}/" not in later


def test_the_claims_home_links_the_list(office, client_for):
    assert "/claims/encounters/" in client_for("clinician").get("/claims/").content.decode()


def test_roles_without_claims_see_no_encounter_pages(office, users, client_for):
    encounter = make(office, users)
    for role in ("front_desk", "medical_assistant"):
        client = client_for(role)
        assert client.get("/claims/encounters/").status_code == 403
        assert client.get(f"/claims/encounters/{encounter.pk}/").status_code == 403
    from django.test import Client

    anonymous = Client().get(f"/claims/encounters/{encounter.pk}/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


def test_the_coding_page_shows_the_visit_with_a_label_on_every_input(office, users, client_for):
    encounter = make(office, users)
    html = client_for("clinician").get(f"/claims/encounters/{encounter.pk}/").content.decode()
    assert office.patient.full_name in html and str(office.provider) in html
    assert office.day.strftime("%m/%d/%Y") in html and "Place of service" in html
    assert "self-pay" in html
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    assert ids and [i for i in ids if i not in labelled] == []
    assert 'hx-get="/claims/encounters/search/diagnoses"' in html


def test_a_clinician_cannot_open_or_code_another_providers_visit(office, users, client_for):
    theirs = make(office, users, provider=office.other_provider)
    client = client_for("clinician")
    assert client.get(f"/claims/encounters/{theirs.pk}/").status_code == 403
    assert client.post(f"/claims/encounters/{theirs.pk}/", form()).status_code == 403
    assert not theirs.diagnoses.exists()


def test_saving_and_marking_coded_from_the_page(office, users, client_for):
    encounter = make(office, users)
    client = client_for("clinician")
    saved = client.post(f"/claims/encounters/{encounter.pk}/", form(dx_2="I10",
                        line_2_code="36415", line_2_units="2", line_2_ptr_1="2"))  # fmt: skip
    assert saved.status_code == 302
    assert list(encounter.lines.values_list("code", "charge_cents")) == [
        ("99213", 12500), ("36415", 3000),
    ]  # fmt: skip
    page = client.get(f"/claims/encounters/{encounter.pk}/").content.decode()
    assert "$155.00" in page and 'placeholder="125.00 from fees"' in page
    client.post(f"/claims/encounters/{encounter.pk}/", form(action="mark_coded"))
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.CODED and encounter.coded_by == users["clinician"]


def test_a_charge_from_the_fee_schedule_follows_a_changed_code_and_units(office, users,
                                                                        client_for):  # fmt: skip
    """99213 x 1 was charged $125 from the fees; the coder makes it 99214 x 3 on the page and
    saves: the charge is the fee schedule's again ($180 x 3), not the old $125."""
    encounter = make(office, users)
    client = client_for("biller")
    assert client.post(f"/claims/encounters/{encounter.pk}/", form()).status_code == 302
    assert list(encounter.lines.values_list("charge_cents", flat=True)) == [12500]
    shown = form_as_shown(client, encounter)
    assert shown["line_1_charge"] == ""  # the fee schedule's: shown as the placeholder only
    shown.update(action="save", line_1_code="99214", line_1_units="3")
    assert client.post(f"/claims/encounters/{encounter.pk}/", shown).status_code == 302
    assert list(encounter.lines.values_list("code", "units", "charge_cents")) == [
        ("99214", 3, 54000),
    ]  # fmt: skip
    page = client.get(f"/claims/encounters/{encounter.pk}/").content.decode()
    assert 'placeholder="540.00 from fees"' in page and "$540.00" in page


def test_a_charge_typed_by_hand_is_kept_when_the_units_change(office, users, client_for):
    encounter = make(office, users)
    client = client_for("biller")
    client.post(f"/claims/encounters/{encounter.pk}/", form(line_1_charge="150.00"))
    shown = form_as_shown(client, encounter)
    assert shown["line_1_charge"] == "150.00"
    shown.update(action="save", line_1_units="2")
    assert client.post(f"/claims/encounters/{encounter.pk}/", shown).status_code == 302
    assert list(encounter.lines.values_list("units", "charge_cents")) == [(2, 15000)]


def test_a_charge_other_than_the_fee_schedule_is_flagged_for_the_coder(office, users, client_for):
    """The clinician charges $150 for their own 99213 (the fees say $125): the coding page
    warns next to the charge, on the finalized visit too, and the claim's scrubber holds it."""
    from medoffice.claims.scrubber import scrub_one

    patients_factories.coverage(patient=office.patient, member_id="M1")
    encounter = make(office, users)
    clinician = client_for("clinician")
    saved = clinician.post(f"/claims/encounters/{encounter.pk}/",
                           form(line_1_charge="150.00", line_2_code="36415", line_2_ptr_1="1"))  # fmt: skip
    assert saved.status_code == 302
    words = ("Line 1: charge differs from the fee schedule: $150.00 typed, schedule $125.00 "
             "for 99213.")  # fmt: skip
    page = client_for("biller").get(f"/claims/encounters/{encounter.pk}/").content.decode()
    assert re.search(r'id="line_1_charge"[^>]*aria-describedby="line_1_charge-warning"', page)
    assert f'id="line_1_charge-warning">{words}' in page.replace("&#x27;", "'")
    assert 'id="line_2_charge-warning"' not in page  # 36415 at its $15 fee
    clinician.post(f"/claims/encounters/{encounter.pk}/", form(
        action="mark_coded", line_1_charge="150.00", line_2_code="36415", line_2_ptr_1="1"))  # fmt: skip
    encounter = svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)
    page = client_for("biller").get(f"/claims/encounters/{encounter.pk}/").content.decode()
    assert words in page.replace("&#x27;", "'")  # the finalized visit's table says it too
    claim = claims_services.claim_build(actor=users["biller"], encounter=encounter)
    result = scrub_one(actor=users["biller"], claim=claim)
    charges = [f for f in result.findings if f.code == "charge_not_scheduled"]
    assert [(f.severity, f.line_number) for f in charges] == [("warning", 1)]
    shown = client_for("biller").get(f"/claims/claim/{claim.pk}/").content.decode()
    assert words in shown.replace("&#x27;", "'")


def test_a_row_left_blank_keeps_the_numbers_of_the_rows_after_it(office, users, client_for):
    """Line 3 typed under an empty line 2: its error names line 3 and stands next to it; the
    error summary takes the focus when the page loads."""
    encounter = make(office, users)
    client = client_for("biller")
    answer = client.post(f"/claims/encounters/{encounter.pk}/", form(
        line_2_units="1", line_3_code="12345", line_3_units="1", line_3_ptr_1="1",
        line_3_charge="10",
    ))  # fmt: skip
    assert answer.status_code == 422
    html = answer.content.decode()
    assert re.search(r'id="line_3_code-error">Line 3: 12345 is not a known code', html)
    assert 'id="line_2_code-error"' not in html
    assert re.search(r'id="line_3_code" name="line_3_code" value="12345"', html)
    assert re.search(r'id="line_2_code" name="line_2_code" value=""', html)
    assert re.search(r'<div class="notice error-summary" role="alert" tabindex="-1" '
                     r'id="encounter-errors" autofocus>', html)  # fmt: skip
    assert not encounter.lines.exists()
    saved = client.post(f"/claims/encounters/{encounter.pk}/", form(
        line_3_code="36415", line_3_units="1", line_3_ptr_1="1",
    ))  # fmt: skip
    assert saved.status_code == 302
    assert list(encounter.lines.values_list("line_number", "code")) == [
        (1, "99213"), (2, "36415"),
    ]  # fmt: skip


def test_errors_are_shown_next_to_their_fields_and_nothing_is_saved(office, users, client_for):
    encounter = make(office, users)
    answer = client_for("biller").post(f"/claims/encounters/{encounter.pk}/", form(
        dx_2="E11", line_1_mod_1="XX", line_1_ptr_2="5", line_2_code="J3301", line_2_ptr_1="1",
    ))  # fmt: skip
    assert answer.status_code == 422
    html = answer.content.decode()
    assert re.search(r'id="dx_2-error">Diagnosis 2: E11 is a category', html)
    assert re.search(r'id="line_1_mod-error">Line 1, modifier 1: XX is not a known modifier', html)
    assert re.search(
        r'id="line_1_ptr-error">Line 1: diagnosis pointer 5 is out of range: the visit has 2 '
        r"diagnoses\. \(scrubber: pointer_out_of_range\)",
        html,
    )
    assert re.search(r'id="line_2_charge-error">Line 2: the practice has no fee for J3301', html)
    assert 'value="E11"' in html  # what was typed is kept
    assert not encounter.diagnoses.exists() and not encounter.lines.exists()


def test_finalize_and_reopen_from_the_page(office, users, client_for):
    encounter = make(office, users)
    svc.encounter_code(actor=users["biller"], encounter_id=encounter.pk, diagnoses=["E11.9"],
                       lines=[LineInput("99213", pointers=[1])])  # fmt: skip
    svc.encounter_mark_coded(actor=users["clinician"], encounter_id=encounter.pk)
    assert (
        client_for("clinician").post(f"/claims/encounters/{encounter.pk}/finalize").status_code
        == 403
    )
    coder = client_for("biller")
    assert (
        "Finalize and post the charges"
        in coder.get(f"/claims/encounters/{encounter.pk}/").content.decode()
    )
    assert coder.post(f"/claims/encounters/{encounter.pk}/finalize").status_code == 302
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.READY and encounter.charge_entry_id
    refused = coder.post(f"/claims/encounters/{encounter.pk}/reopen", {"reason": ""})
    assert refused.status_code == 422 and "Say why" in refused.content.decode()
    coder.post(f"/claims/encounters/{encounter.pk}/reopen", {"reason": "wrong code"})
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.DRAFT
    assert JournalEntry.objects.filter(reverses__isnull=False).count() == 1


def test_a_rejected_claim_is_rebuilt_from_the_recoded_visit_on_its_page(office, users,
                                                                        client_for):  # fmt: skip
    coder = users["biller"]
    patients_factories.coverage(patient=office.patient, member_id="XYZ123456")
    encounter = make(office, users)
    svc.encounter_code(actor=coder, encounter_id=encounter.pk, diagnoses=["E11.9"],
                       lines=[LineInput("99213", pointers=[1])])  # fmt: skip
    svc.encounter_mark_coded(actor=coder, encounter_id=encounter.pk)
    svc.encounter_finalize(actor=coder, encounter_id=encounter.pk)
    claim = claims_services.claim_build(
        actor=coder, encounter=Encounter.objects.get(pk=encounter.pk)
    )
    for to in ("ready", "batched", "submitted", "rejected"):
        claims_services.claim_set_status(actor=coder, claim=claim, to=to)
    page = client_for("biller")
    url = f"/claims/encounters/{encounter.pk}/"
    # The rejected claim stays through the correction; the visit is recoded and finalized.
    page.post(f"{url}reopen", {"reason": "payer rejected the code"})
    assert Claim.objects.filter(pk=claim.pk, status="rejected").exists()
    assert "Rebuild rejected claim" not in page.get(url).content.decode()  # not while a draft
    svc.encounter_code(actor=coder, encounter_id=encounter.pk, diagnoses=["E11.9"],
                       lines=[LineInput("99214", pointers=[1])])  # fmt: skip
    svc.encounter_mark_coded(actor=coder, encounter_id=encounter.pk)
    svc.encounter_finalize(actor=coder, encounter_id=encounter.pk)
    assert f"Rebuild rejected claim {claim.control_number}" in page.get(url).content.decode()
    answer = page.post(f"{url}claim")
    assert answer.status_code == 302 and answer["Location"] == f"/claims/claim/{claim.pk}/"
    claim.refresh_from_db()
    assert claim.status in ("ready", "scrub_errors") and claim.frequency_code == "1"
    assert list(claim.lines.values_list("code", flat=True)) == ["99214"]
    assert Claim.objects.filter(encounter=encounter).count() == 1


def test_code_visit_from_an_appointment(office, users, client_for):
    appointment = sf.appointment(
        patient=office.patient, provider=office.provider, location=office.location
    )
    answer = client_for("clinician").post(f"/claims/encounters/from-appointment/{appointment.pk}")
    made = Encounter.objects.get(appointment=appointment)
    assert answer.status_code == 302 and answer["Location"] == f"/claims/encounters/{made.pk}/"


def test_code_search_as_you_type(office, client_for):
    client = client_for("clinician")
    dx = client.get("/claims/encounters/search/diagnoses", {"dx_3": "E11.6"}).content.decode()
    assert '<option value="E11.65">' in dx
    words = client.get("/claims/encounters/search/diagnoses", {"q": "hypertension"})
    assert '<option value="I10">' in words.content.decode()
    procs = client.get("/claims/encounters/search/procedures",
                       {"day": office.day.isoformat(), "line_1_code": "9921"}).content.decode()  # fmt: skip
    assert '<option value="99213">99213 Office visit' in procs
    retired = client.get("/claims/encounters/search/procedures",
                         {"day": office.day.isoformat(), "q": "99999"}).content.decode()  # fmt: skip
    assert "99999" not in retired
    assert (
        client_for("front_desk")
        .get("/claims/encounters/search/diagnoses", {"q": "E11"})
        .status_code
        == 403
    )


def test_the_patient_record_offers_code_visit_for_recent_visits(office, users, client_for):
    mine = sf.appointment(patient=office.patient, provider=office.provider,
                          location=office.location, status="checked_in")  # fmt: skip
    theirs = sf.appointment(patient=office.patient, provider=office.other_provider,
                            location=office.location, status="completed",
                            start=timezone.now() - timedelta(days=3))  # fmt: skip
    client = client_for("clinician")
    html = client.get(f"/patients/{office.patient.pk}/").content.decode()
    assert "Visits to code" in html
    assert f'action="/claims/encounters/from-appointment/{mine.pk}"' in html
    assert f"/claims/encounters/from-appointment/{theirs.pk}" not in html
    client.post(f"/claims/encounters/from-appointment/{mine.pk}")
    made = Encounter.objects.get(appointment=mine)
    html = client.get(f"/patients/{office.patient.pk}/").content.decode()
    assert f"Encounter {made.pk} (draft)" in html
    coder = client_for("biller").get(f"/patients/{office.patient.pk}/").content.decode()
    assert f"/claims/encounters/from-appointment/{theirs.pk}" in coder
    assert (
        "Visits to code"
        not in client_for("front_desk").get(f"/patients/{office.patient.pk}/").content.decode()
    )


def test_a_bogus_or_inactive_supervising_provider_on_the_page_is_refused_not_dropped(
    office, users, client_for
):
    from medoffice.testing import factories

    encounter = make(office, users)
    client = client_for("biller")
    url = f"/claims/encounters/{encounter.pk}/"
    supervisor = str(office.other_provider.pk)
    assert client.post(url, form(supervising_provider=supervisor)).status_code == 302
    encounter.refresh_from_db()
    assert encounter.supervising_provider_id == office.other_provider.pk
    gone = factories.provider(first_name="Gil", last_name="Gone", is_active=False)
    for value, words in (("999999", "there is no provider with id &#x27;999999&#x27;"),
                         ("abc", "there is no provider with id &#x27;abc&#x27;"),
                         (str(gone.pk), "Gil Gone, MD is no longer an active provider")):  # fmt: skip
        page = client.post(url, form(dx_2="I10", supervising_provider=value))
        assert page.status_code == 422
        html = page.content.decode()
        error = html[html.index('id="supervising-error"') :]
        assert error[: error.index("</span>")].endswith(
            f"Supervising provider: {words}"
            + ("." if value != str(gone.pk) else "; choose an active one.")
        )
        assert 'id="supervising_provider" name="supervising_provider" aria-invalid="true"' in html
        encounter.refresh_from_db()
        assert encounter.supervising_provider_id == office.other_provider.pk  # not dropped
        assert list(encounter.diagnoses.values_list("code", flat=True)) == ["E11.9"]
    select = html[html.index('id="supervising_provider"') :]
    select = select[: select.index("</select>")]
    offered = [int(v) for v in re.findall(r'<option value="(\d+)"', select)]
    assert office.other_provider.pk in offered and gone.pk not in offered


def test_a_supervising_provider_who_left_stays_shown_and_kept_on_the_page(
    office, users, client_for
):
    encounter = make(office, users)
    client = client_for("biller")
    url = f"/claims/encounters/{encounter.pk}/"
    assert (
        client.post(url, form(supervising_provider=str(office.other_provider.pk))).status_code
        == 302
    )
    type(office.other_provider).objects.filter(pk=office.other_provider.pk).update(is_active=False)
    shown = form_as_shown(client, encounter)
    assert shown["supervising_provider"] == str(office.other_provider.pk)
    shown.update(action="save")
    assert client.post(url, shown).status_code == 302
    encounter.refresh_from_db()
    assert encounter.supervising_provider_id == office.other_provider.pk
