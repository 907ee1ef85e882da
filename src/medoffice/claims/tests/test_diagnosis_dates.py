"""A diagnosis is checked against the ICD-10-CM code set in force on the date of service: a
code added on October 1, 2025 is not one for a visit before it, a code deleted then still is,
and a code made a category then was billable before it (coding and the scrubber alike)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from medoffice.claims import claims_services as services
from medoffice.claims import encounters as svc
from medoffice.claims.encounters import LineInput
from medoffice.claims.scrubber import scrub
from medoffice.coding import selectors as codes
from medoffice.core.exceptions import InvalidInput
from medoffice.testing import claims_factories as cf
from medoffice.testing import factories

pytestmark = pytest.mark.django_db

BEFORE = date(2025, 9, 15)  # FY2025: the earlier release was in force
AFTER = date(2025, 10, 15)  # FY2026: the release carried
ADDED, DELETED, EXPANDED = "B88.01", "S30.1XXA", "D71"


@pytest.fixture
def biller(db, practice):
    cf.procedure_codes(["99213"])
    return factories.user("biller")


def findings(biller, code: str, day: date) -> dict[str, str]:
    claim = services.claim_build(
        actor=biller,
        encounter=cf.encounter(diagnoses=[code], date_of_service=day,
                               lines=[{"code": "99213", "diagnosis_pointers": [1]}]),
    )  # fmt: skip
    return {f.code: f.message for f in scrub(claim, day + timedelta(days=10))}


def test_a_code_added_on_october_1_is_not_one_for_a_visit_before_it(biller):
    found = findings(biller, ADDED, BEFORE)
    assert list(found) == ["diagnosis_not_valid_on_date"]
    assert found["diagnosis_not_valid_on_date"] == (
        "Diagnosis B88.01 was not an ICD-10-CM code on the date of service 09/15/2025: it came "
        "into the code set on 10/01/2025. Use the code in force on the date of service."
    )
    assert findings(biller, ADDED, AFTER) == {}


def test_a_code_deleted_on_october_1_is_billable_for_a_visit_before_it_only(biller):
    assert findings(biller, DELETED, BEFORE) == {}
    found = findings(biller, DELETED, AFTER)
    assert list(found) == ["diagnosis_not_valid_on_date"]
    assert (
        "(Contusion of abdominal wall, initial encounter) was deleted from ICD-10-CM on "
        "10/01/2025, before the date of service 10/15/2025" in found["diagnosis_not_valid_on_date"]
    )


def test_a_code_made_a_category_on_october_1_was_billable_before_it(biller):
    assert findings(biller, EXPANDED, BEFORE) == {}
    assert list(findings(biller, EXPANDED, AFTER)) == ["diagnosis_not_billable"]


def test_a_code_never_in_icd10cm_is_invalid_on_any_date(biller):
    assert list(findings(biller, "E11.99X", BEFORE)) == ["diagnosis_invalid"]
    assert list(findings(biller, "E11.99X", AFTER)) == ["diagnosis_invalid"]


def test_coding_a_visit_takes_the_code_set_of_its_date(office, users):
    biller = users["biller"]

    def encounter(day: date):
        return svc.encounter_create(
            actor=biller, patient=office.patient, location=office.location,
            rendering_provider=office.provider, date_of_service=day, separate_visit=True,
        )  # fmt: skip

    def code(made, diagnosis: str):
        return svc.encounter_code(actor=biller, encounter_id=made.pk, diagnoses=[diagnosis],
                                  lines=[LineInput("99213", pointers=[1])])  # fmt: skip

    earlier = code(encounter(BEFORE), DELETED)
    assert list(earlier.diagnoses.values_list("code", flat=True)) == [DELETED]
    made = encounter(BEFORE)
    with pytest.raises(InvalidInput) as caught:
        code(made, ADDED)
    assert caught.value.errors["diagnoses.1"] == [
        "Diagnosis 1: B88.01 was not an ICD-10-CM code on the date of service 09/15/2025: it "
        "came into the code set on 10/01/2025. Use the code in force on the date of service."
    ]
    assert not made.diagnoses.exists()
    with pytest.raises(InvalidInput) as caught:
        code(encounter(AFTER), DELETED)
    assert "was deleted from ICD-10-CM on 10/01/2025" in caught.value.errors["diagnoses.1"][0]
    # FY2026 brought codes with a letter second (chapter QA): they are codes like any other
    later = code(encounter(AFTER), "qa00101")
    assert list(later.diagnoses.values_list("code", flat=True)) == ["QA0.0101"]


def test_codes_with_a_letter_second_are_read_and_found(biller):
    assert findings(biller, "QA0.0101", AFTER) == {}
    assert list(findings(biller, "QA0.0101", BEFORE)) == ["diagnosis_not_valid_on_date"]
    assert codes.icd10_search("QA0.010", limit=3)[0].code == "QA0.010"


def test_the_changes_file_fits_the_release_carried():
    """Raising the simple-icd-10-cm pin without writing the file again (scripts/
    icd10cm_changes.py) would leave it describing another release: this fails then."""
    changes = codes._icd10_changes()
    kinds = {kind: [c for c in changes.values() if c.kind == kind] for kind in
             ("added", "deleted", "expanded")}  # fmt: skip
    assert all(kinds.values()) and len(changes) == sum(map(len, kinds.values()))
    for change in kinds["added"]:
        found = codes.icd10_lookup(change.code.code)
        assert found is not None and found.billable == change.code.billable, change
    for change in kinds["deleted"]:
        assert codes.icd10_lookup(change.code.code) is None, change
    for change in kinds["expanded"]:
        found = codes.icd10_lookup(change.code.code)
        assert found is not None and not found.billable and change.code.billable, change


def test_an_external_cause_code_is_never_first(biller):
    """W19.XXXA (unspecified fall) says how an injury happened: first, it is an error; after
    the injury it is fine."""
    first = findings(biller, "W19.XXXA", AFTER)
    assert set(first) == {"diagnosis_external_cause_first", "pointer_external_cause_only"}
    assert first["diagnosis_external_cause_first"].startswith(
        "Diagnosis 1 W19.XXXA is an external cause code (V00 to Y99)"
    )
    claim = services.claim_build(
        actor=biller,
        encounter=cf.encounter(diagnoses=["S52.501A", "W19.XXXA"], date_of_service=AFTER,
                               lines=[{"code": "99213", "diagnosis_pointers": [1, 2]}]),
    )  # fmt: skip
    assert scrub(claim, AFTER + timedelta(days=10)) == []


def test_a_line_pointing_only_to_an_external_cause_is_held(biller):
    claim = services.claim_build(
        actor=biller,
        encounter=cf.encounter(diagnoses=["S52.501A", "W19.XXXA"], date_of_service=AFTER,
                               lines=[{"code": "99213", "diagnosis_pointers": [2]}]),
    )  # fmt: skip
    (finding,) = scrub(claim, AFTER + timedelta(days=10))
    assert (finding.code, finding.line_number) == ("pointer_external_cause_only", 1)
    assert "Line 1 points only to external cause codes (W19.XXXA)" in finding.message
