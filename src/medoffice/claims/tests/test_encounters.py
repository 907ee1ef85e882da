"""Encounter services: creating, coding (every check, in words, naming the position), the
states and who moved them, and who may code which visit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from medoffice.claims import encounters as svc
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import (
    Claim,
    Encounter,
    EncounterDiagnosis,
    EncounterStatus,
    ServiceLine,
)
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotPermitted
from medoffice.patients.models import Patient
from medoffice.testing import patients_factories
from medoffice.testing import scheduling_factories as sf

pytestmark = pytest.mark.django_db


def draft(office, users, *, provider=None, actor=None) -> Encounter:
    return svc.encounter_create(
        actor=actor or users["biller"], patient=office.patient, location=office.location,
        rendering_provider=provider or office.provider, date_of_service=office.day,
    )  # fmt: skip


def code(encounter, users, *, diagnoses=("E11.9",), lines=None, actor=None, **details):
    return svc.encounter_code(
        actor=actor or users["biller"], encounter_id=encounter.pk, diagnoses=list(diagnoses),
        lines=lines if lines is not None else [LineInput("99213", pointers=[1])], **details,
    )  # fmt: skip


def refused(encounter, users, **kwargs) -> dict[str, list[str]]:
    """The errors of a refused coding, after checking that nothing was written."""
    before = (
        list(encounter.diagnoses.values_list("rank", "code")),
        list(encounter.lines.values_list("line_number", "code", "charge_cents")),
    )
    with pytest.raises(InvalidInput) as caught:
        code(encounter, users, **kwargs)
    after = (
        list(encounter.diagnoses.values_list("rank", "code")),
        list(encounter.lines.values_list("line_number", "code", "charge_cents")),
    )
    assert after == before
    return caught.value.errors


# --- Creating ---------------------------------------------------------------------------------


def test_an_encounter_from_an_appointment_takes_its_visit(office, users):
    office.location.place_of_service = "22"
    office.location.save()
    appointment = sf.appointment(
        patient=office.patient, provider=office.provider, location=office.location
    )
    made = svc.encounter_from_appointment(actor=users["clinician"], appointment=appointment)
    assert (made.patient, made.rendering_provider, made.location) == (
        office.patient, office.provider, office.location,
    )  # fmt: skip
    assert made.place_of_service == "22" and made.status == EncounterStatus.DRAFT
    assert made.appointment == appointment
    assert (
        made.date_of_service
        == appointment.start.astimezone(__import__("zoneinfo").ZoneInfo("America/Chicago")).date()
    )
    again = svc.encounter_from_appointment(actor=users["biller"], appointment=appointment)
    assert again.pk == made.pk and Encounter.objects.count() == 1


def test_a_clinician_opens_no_encounter_for_another_providers_appointment(office, users):
    appointment = sf.appointment(
        patient=office.patient, provider=office.other_provider, location=office.location
    )
    with pytest.raises(NotPermitted):
        svc.encounter_from_appointment(actor=users["clinician"], appointment=appointment)
    assert not Encounter.objects.exists()


def test_a_cancelled_appointment_has_no_visit_to_code(office, users):
    appointment = sf.appointment(
        patient=office.patient, provider=office.provider, location=office.location,
        status="cancelled",
    )  # fmt: skip
    with pytest.raises(InvalidTransition, match="cancelled"):
        svc.encounter_from_appointment(actor=users["biller"], appointment=appointment)
    assert not Encounter.objects.exists()


def test_a_standalone_encounter_takes_the_locations_place_of_service(office, users):
    made = draft(office, users)
    assert made.place_of_service == "11" and made.coded_by is None


def test_a_future_date_of_service_and_an_unknown_place_are_refused(office, users):
    with pytest.raises(InvalidInput) as caught:
        svc.encounter_create(
            actor=users["biller"], patient=office.patient, location=office.location,
            rendering_provider=office.provider, date_of_service=office.day + timedelta(days=30),
            place_of_service="77",
        )  # fmt: skip
    assert "in the future" in caught.value.errors["date_of_service"][0]
    assert "77 is not a CMS place of service" in caught.value.errors["place_of_service"][0]
    assert not Encounter.objects.exists()


@pytest.mark.parametrize(("born", "day", "first_day", "words"), [
    (date(2020, 6, 1), date(2020, 5, 31), date(2020, 6, 1),
     "is before the patient was born (06/01/2020)"),
    (date(1980, 1, 1), date(2015, 9, 30), date(2015, 10, 1),
     "is before ICD-10-CM began (10/01/2015)"),
])  # fmt: skip
def test_a_date_of_service_before_birth_or_before_icd10_is_refused(
    office, users, born, day, first_day, words
):
    patient = patients_factories.patient(date_of_birth=born)
    with pytest.raises(InvalidInput) as caught:
        svc.encounter_create(
            actor=users["biller"], patient=patient, location=office.location,
            rendering_provider=office.provider, date_of_service=day,
        )  # fmt: skip
    assert set(caught.value.errors) == {"date_of_service"}
    message = caught.value.errors["date_of_service"][0]
    assert message.startswith(f"The date of service {day:%m/%d/%Y} ") and words in message
    assert not Encounter.objects.exists()
    # The first day allowed is a day like any other.
    assert svc.encounter_create(
        actor=users["biller"], patient=patient, location=office.location,
        rendering_provider=office.provider, date_of_service=first_day,
    ).pk  # fmt: skip


def test_coding_refuses_a_visit_dated_before_the_patients_birth(office, users):
    """The patient's birth date corrected after the visit was opened: coding says so at once,
    not the books when it is finalized."""
    encounter = draft(office, users)
    Patient.objects.filter(pk=office.patient.pk).update(date_of_birth=office.day + timedelta(1))
    errors = refused(encounter, users)
    assert list(errors) == ["date_of_service"]
    assert "is before the patient was born" in errors["date_of_service"][0]


def test_a_role_without_coding_permission_creates_nothing(office, users):
    for role in ("front_desk", "auditor", "medical_assistant"):
        with pytest.raises(NotPermitted):
            draft(office, users, actor=users[role])
    assert not Encounter.objects.exists()


# --- Diagnoses --------------------------------------------------------------------------------


def test_diagnoses_are_normalized_with_the_dot_and_kept_in_order(office, users):
    encounter = draft(office, users)
    code(encounter, users, diagnoses=["e119", " I10 ", "J06.9"],
         lines=[LineInput("99213", pointers=[1, 2, 3])])  # fmt: skip
    assert list(encounter.diagnoses.values_list("rank", "code")) == [
        (1, "E11.9"), (2, "I10"), (3, "J06.9"),
    ]  # fmt: skip


def test_each_bad_diagnosis_is_named_by_its_position(office, users):
    encounter = draft(office, users)
    errors = refused(
        encounter, users, diagnoses=["E11.9", "I10", "E11", "E11.99", "not a code", "e119"],
        lines=[LineInput("99213", pointers=[1])],
    )  # fmt: skip
    assert "Diagnosis 3: E11 is a category, not a billable code" in errors["diagnoses.3"][0]
    assert errors["diagnoses.4"] == ["Diagnosis 4: E11.99 is not a valid ICD-10-CM code."]
    assert "Diagnosis 5: “not a code” is not an ICD-10-CM code" in errors["diagnoses.5"][0]
    assert errors["diagnoses.6"] == ["Diagnosis 6: E11.9 is already diagnosis 1."]
    assert set(errors) == {"diagnoses.3", "diagnoses.4", "diagnoses.5", "diagnoses.6"}


def test_at_most_twelve_diagnoses(office, users):
    encounter = draft(office, users)
    thirteen = ["E11.9", "I10", "J06.9", "R05.9", "M54.50", "K21.9", "E78.5", "F41.1",
                "G43.909", "N39.0", "L30.9", "H10.9", "R51.9"]  # fmt: skip
    errors = refused(encounter, users, diagnoses=thirteen)
    assert "at most 12 diagnoses; 13 were given" in errors["diagnoses"][0]
    code(encounter, users, diagnoses=thirteen[:12])
    assert encounter.diagnoses.count() == 12


# --- Service lines ----------------------------------------------------------------------------


def test_the_charge_defaults_to_the_fee_times_the_units(office, users):
    encounter = draft(office, users)
    code(encounter, users, diagnoses=["E11.9", "I10"], lines=[
        LineInput("99214", modifiers=["25"], pointers=[1, 2]),
        LineInput("36415", units=2, pointers=["2"]),
        LineInput("90471", charge="42.50", pointers=[1]),
    ])  # fmt: skip
    rows = list(encounter.lines.values_list("line_number", "code", "modifiers", "units",
                                            "charge_cents", "diagnosis_pointers"))  # fmt: skip
    assert rows == [
        (1, "99214", ["25"], 1, 18000, [1, 2]),
        (2, "36415", [], 2, 3000, [2]),
        (3, "90471", [], 1, 4250, [1]),
    ]


def test_each_bad_line_field_is_named_by_line_and_place(office, users):
    encounter = draft(office, users)
    errors = refused(encounter, users, diagnoses=["E11.9", "I10"], lines=[
        LineInput("99213", pointers=[1]),
        LineInput("12345", pointers=[1]),                      # unknown code
        LineInput("99999", pointers=[1]),                      # retired before the visit
        LineInput("99213", modifiers=["25", "XX", "25", "7"], pointers=[1]),
        LineInput("99213", modifiers=["25", "59", "RT", "LT", "25"], pointers=[1]),
        LineInput("99213", units=0, pointers=[1]),
        LineInput("99213", units="two", pointers=[1]),
        LineInput("99213", pointers=[1, 3]),                   # only two diagnoses
        LineInput("99213", pointers=[1, 1]),
        LineInput("99213", pointers=[1, 2, 1, 2, 1]),
        LineInput("J3301", pointers=[1]),                      # no fee, no charge
        LineInput("99213", charge="-5", pointers=[1]),
        LineInput("99213", charge="12.345", pointers=[1]),
        LineInput("J3301", charge="10", pointers=[1], ndc="12345-678", ndc_quantity="1",
                  ndc_unit="ML"),
        LineInput("J3301", charge="10", pointers=[1], ndc="00002751001"),
        LineInput("J3301", charge="10", pointers=[1], ndc_quantity="2"),
        LineInput("J3301", charge="10", pointers=[1], ndc="00002-7510-01", ndc_quantity="0",
                  ndc_unit="KG"),
    ])  # fmt: skip
    line = {key: " ".join(value) for key, value in errors.items()}
    assert "lines.1.code" not in line
    assert "Line 2: 12345 is not a known code active on" in line["lines.2.code"]
    assert "Line 3: 99999 is not a known code active on" in line["lines.3.code"]
    assert "Line 4, modifier 2: XX is not a known modifier" in line["lines.4.modifiers.2"]
    assert "Line 4, modifier 3: 25 is given twice" in line["lines.4.modifiers.3"]
    assert "Line 4, modifier 4: “7” is not two letters or digits" in line["lines.4.modifiers.4"]
    assert "Line 5: at most 4 modifiers" in line["lines.5.modifiers"]
    assert "Line 6: units must be a whole number from 1" in line["lines.6.units"]
    assert "Line 7: units must be a whole number" in line["lines.7.units"]
    assert (
        "Line 8: diagnosis pointer 3 is out of range: the visit has 2 diagnoses. "
        "(scrubber: pointer_out_of_range)"
    ) in line["lines.8.pointers.2"]
    assert "Line 9, pointer 2: diagnosis 1 is given twice" in line["lines.9.pointers.2"]
    assert "Line 10: at most 4 diagnosis pointers" in line["lines.10.pointers"]
    assert "Line 11: the practice has no fee for J3301 on" in line["lines.11.charge"]
    assert "give the charge" in line["lines.11.charge"]
    assert "Line 12: the charge must not be negative" in line["lines.12.charge"]
    assert "Line 13: the charge" in line["lines.13.charge"]
    assert "Line 14: the NDC must be 11 digits" in line["lines.14.ndc"]
    assert "Line 15: give the drug's quantity" in line["lines.15.ndc_quantity"]
    assert "Line 15: the NDC unit is one of" in line["lines.15.ndc_unit"]
    assert "Line 16: give the NDC the quantity is for" in line["lines.16.ndc"]
    assert "Line 17: give the drug's quantity" in line["lines.17.ndc_quantity"]
    assert "Line 17: the NDC unit is one of" in line["lines.17.ndc_unit"]


def test_a_drug_line_keeps_its_ndc_quantity_and_unit(office, users):
    encounter = draft(office, users)
    code(encounter, users, lines=[
        LineInput("J3301", charge="18.00", units=4, pointers=[1], ndc="00003-0293-05",
                  ndc_quantity="1.5", ndc_unit="ml"),
    ])  # fmt: skip
    line = encounter.lines.get()
    assert (line.ndc, line.ndc_quantity, line.ndc_unit) == ("00003029305", Decimal("1.500"), "ML")


def test_coding_again_replaces_the_codes(office, users):
    encounter = draft(office, users)
    code(encounter, users, diagnoses=["E11.9", "I10"], lines=[
        LineInput("99213", pointers=[1]), LineInput("36415", pointers=[2]),
    ])  # fmt: skip
    code(encounter, users, diagnoses=["I10"], lines=[LineInput("99214", pointers=[1])])
    assert list(encounter.diagnoses.values_list("code", flat=True)) == ["I10"]
    assert list(encounter.lines.values_list("code", flat=True)) == ["99214"]


def test_referring_supervising_and_prior_authorization(office, users):
    from medoffice.testing.factories import make_npi

    encounter = draft(office, users)
    errors = refused(encounter, users, referring_provider_npi="1234567890",
                     supervising_provider=office.provider)  # fmt: skip
    assert "NPI is 10 digits with a valid check digit" in errors["referring_provider_npi"][0]
    assert "someone other than the rendering provider" in errors["supervising_provider"][0]
    npi = make_npi(4242)
    code(encounter, users, referring_provider_name="Rita Referrer", referring_provider_npi=npi,
         supervising_provider=office.other_provider, prior_authorization=" PA-7781 ")  # fmt: skip
    encounter.refresh_from_db()
    assert encounter.referring_provider_npi == npi
    assert encounter.supervising_provider == office.other_provider
    assert encounter.prior_authorization == "PA-7781"


def test_an_inactive_supervising_provider_is_refused_unless_the_visit_has_them_already(
    office, users
):
    from medoffice.testing import factories

    encounter = draft(office, users)
    gone = factories.provider(first_name="Gil", last_name="Gone", is_active=False)
    errors = refused(encounter, users, supervising_provider=gone)
    assert errors == {"supervising_provider": [
        "Gil Gone, MD is no longer an active provider: choose an active supervising provider."
    ]}  # fmt: skip
    encounter.refresh_from_db()
    assert encounter.supervising_provider is None
    code(encounter, users, supervising_provider=office.other_provider)
    type(gone).objects.filter(pk=office.other_provider.pk).update(is_active=False)
    office.other_provider.refresh_from_db()
    code(encounter, users, supervising_provider=office.other_provider)  # kept, not chosen anew
    encounter.refresh_from_db()
    assert encounter.supervising_provider == office.other_provider


@pytest.mark.parametrize("typed", ["PA*7781", "PA~7781", "PA:7781", "PA^7781", "PA 7781",
                                   "PA/7781", "A" * 51, "PÄ7781"])  # fmt: skip
def test_a_prior_authorization_is_letters_digits_or_dashes(office, users, typed):
    encounter = draft(office, users)
    code(encounter, users, prior_authorization="PA-7781")
    errors = refused(encounter, users, prior_authorization=typed)
    assert list(errors) == ["prior_authorization"]
    message = errors["prior_authorization"][0]
    assert "prior authorization number is 1 to 50 letters, digits or dashes" in message
    encounter.refresh_from_db()
    assert encounter.prior_authorization == "PA-7781"


def test_a_line_given_its_number_is_named_by_it_and_saved_in_order(office, users):
    """The coding page gives each line the row it was typed in: a row left blank before it
    does not move its errors onto another row."""
    encounter = draft(office, users)
    errors = refused(encounter, users, lines=[
        LineInput("99213", pointers=[1], number=1),
        LineInput("12345", charge="10", pointers=[1], number=3),
    ])  # fmt: skip
    assert list(errors) == ["lines.3.code"]
    assert errors["lines.3.code"][0].startswith("Line 3: 12345 is not a known code")
    code(encounter, users, lines=[
        LineInput("99213", pointers=[1], number=1), LineInput("36415", pointers=[1], number=3),
    ])  # fmt: skip
    assert list(encounter.lines.values_list("line_number", "code")) == [
        (1, "99213"), (2, "36415"),
    ]  # fmt: skip


# --- States -----------------------------------------------------------------------------------


def test_draft_to_coded_records_who_and_when_and_an_edit_returns_it_to_draft(office, users):
    encounter = draft(office, users, actor=users["clinician"])
    code(encounter, users, actor=users["clinician"])
    coded = svc.encounter_mark_coded(actor=users["clinician"], encounter_id=encounter.pk)
    assert coded.status == EncounterStatus.CODED
    assert coded.coded_by == users["clinician"] and coded.coded_at is not None
    with pytest.raises(InvalidTransition, match="already coded"):
        svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    code(encounter, users, diagnoses=["I10"])
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.DRAFT and encounter.coded_by is None
    svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    encounter.refresh_from_db()
    assert encounter.coded_by == users["biller"]


def test_marking_coded_needs_a_diagnosis_a_line_and_pointers(office, users):
    encounter = draft(office, users)
    with pytest.raises(InvalidInput) as caught:
        svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    assert set(caught.value.errors) == {"diagnoses", "lines"}
    code(encounter, users, lines=[LineInput("99213")])
    with pytest.raises(InvalidInput) as caught:
        svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    assert caught.value.errors == {
        "lines.1.pointers": [
            "Line 1: point it at the diagnosis it treats. (scrubber: pointer_missing)"
        ]
    }
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.DRAFT and encounter.coded_by is None


def test_finalizing_is_the_coders_and_only_from_coded(office, users):
    encounter = draft(office, users, actor=users["clinician"])
    code(encounter, users, actor=users["clinician"])
    with pytest.raises(InvalidTransition, match="a draft"):
        svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)
    svc.encounter_mark_coded(actor=users["clinician"], encounter_id=encounter.pk)
    with pytest.raises(NotPermitted):
        svc.encounter_finalize(actor=users["clinician"], encounter_id=encounter.pk)
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.CODED and encounter.charge_entry is None
    ready = svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)
    assert ready.status == EncounterStatus.READY and ready.finalized_by == users["biller"]
    with pytest.raises(InvalidTransition, match="finalized"):
        code(encounter, users)
    with pytest.raises(InvalidTransition, match="already finalized"):
        svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)


def test_reopening_needs_a_reason_and_a_ready_encounter(office, users):
    encounter = draft(office, users)
    code(encounter, users)
    with pytest.raises(InvalidTransition, match="not finalized"):
        svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="typo")
    svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)
    with pytest.raises(InvalidInput, match="Say why"):
        svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="  ")
    with pytest.raises(NotPermitted):
        svc.encounter_reopen(actor=users["clinician"], encounter_id=encounter.pk, reason="typo")
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.READY
    again = svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="typo")
    assert again.status == EncounterStatus.DRAFT and again.finalized_by is None


# --- Whose visit ------------------------------------------------------------------------------


def test_a_clinician_codes_their_own_visits_only(office, users):
    own = draft(office, users, actor=users["clinician"])
    code(own, users, actor=users["clinician"])
    theirs = draft(office, users, provider=office.other_provider)
    with pytest.raises(NotPermitted, match="another provider's visit"):
        code(theirs, users, actor=users["clinician"])
    with pytest.raises(NotPermitted):
        svc.encounter_mark_coded(actor=users["clinician"], encounter_id=theirs.pk)
    with pytest.raises(NotPermitted):
        draft(office, users, provider=office.other_provider, actor=users["clinician"])
    assert not EncounterDiagnosis.objects.filter(encounter=theirs).exists()
    assert not ServiceLine.objects.filter(encounter=theirs).exists()
    theirs.refresh_from_db()
    assert theirs.status == EncounterStatus.DRAFT


def test_a_coder_codes_any_visit(office, users):
    theirs = draft(office, users, provider=office.other_provider, actor=users["manager"])
    code(theirs, users, actor=users["biller"])
    assert theirs.lines.count() == 1


def _finalized_with_claim(office, users):
    from medoffice.claims import claims_services
    from medoffice.testing import patients_factories as pf

    pf.coverage(patient=office.patient, effective_date=office.day - timedelta(days=30))
    encounter = draft(office, users)
    code(encounter, users, diagnoses=("E11.9", "I10"), lines=[LineInput("99213", pointers=[1, 2])])
    svc.encounter_mark_coded(actor=users["biller"], encounter_id=encounter.pk)
    svc.encounter_finalize(actor=users["biller"], encounter_id=encounter.pk)
    encounter.refresh_from_db()
    return encounter, claims_services.claim_build(actor=users["biller"], encounter=encounter)


def test_reopening_drops_a_claim_not_yet_sent_and_recoding_works(office, users):
    encounter, claim = _finalized_with_claim(office, users)
    svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="I10 not seen")
    assert not Claim.objects.filter(pk=claim.pk).exists()
    code(encounter, users)  # the lines the claim had copied can be replaced
    assert list(encounter.lines.values_list("code", flat=True)) == ["99213"]


def test_a_sent_claim_keeps_the_lines_it_billed_when_the_visit_is_recoded(office, users):
    encounter, claim = _finalized_with_claim(office, users)
    Claim.objects.filter(pk=claim.pk).update(status="submitted")
    svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="I10 not seen")
    code(encounter, users, lines=[LineInput("99214", pointers=[1])])
    billed = list(claim.lines.values_list("code", "diagnosis_pointers", "service_line"))
    assert billed == [("99213", [1, 2], None)]


def test_a_claim_in_a_batch_waiting_to_be_sent_refuses_the_reopening(office, users):
    encounter, claim = _finalized_with_claim(office, users)
    Claim.objects.filter(pk=claim.pk).update(status="batched")
    with pytest.raises(InvalidTransition, match="in a batch waiting to be sent"):
        svc.encounter_reopen(actor=users["biller"], encounter_id=encounter.pk, reason="typo")
    encounter.refresh_from_db()
    assert encounter.status == EncounterStatus.READY
