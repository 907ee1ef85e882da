"""The scrubber: each edit caught on a claim built to break it, and a clean claim passing all."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medoffice.claims import claims_services as services
from medoffice.claims.models import (
    Claim,
    ClaimEvent,
    ClaimLine,
    ClaimStatus,
    ScrubFinding,
)
from medoffice.claims.scrubber import scrub, scrub_claims, scrub_one
from medoffice.coding.models import (
    AddOnEdit,
    CodeSetKind,
    Fee,
    MpfsRvu,
    MueEdit,
    PriorAuthRule,
    ProcedureCode,
    PtpEdit,
)
from medoffice.core.exceptions import InvalidTransition, NotPermitted
from medoffice.core.models import Practice
from medoffice.patients.models import Coverage
from medoffice.testing import claims_factories as cf
from medoffice.testing import factories

pytestmark = pytest.mark.django_db
DAY = cf.DEFAULT_DAY
TODAY = DAY + timedelta(days=10)


@pytest.fixture
def codes(db):
    cf.procedure_codes(["99213", "99214", "20610", "11042", "11045", "97110"])
    cf.modifier("25")
    cf.modifier("RT")
    cf.modifier("59", ncci_bypass=True)
    cf.modifier("XU", ncci_bypass=True)
    cf.modifier("AA", is_active=False)


@pytest.fixture
def biller(db, practice):
    return factories.user("biller")


def build(biller, **fields):
    return services.claim_build(actor=biller, encounter=cf.encounter(**fields))


def codes_of(claim, today=TODAY):
    return sorted({f.code for f in scrub(claim, today)})


def severities_of(claim, today=TODAY):
    """(code, severity) of each finding, sorted."""
    return sorted({(f.code, f.severity) for f in scrub(claim, today)})


@pytest.fixture
def edit_tables(codes):
    """An NCCI pair (bypassed by 25 on the visit), MUEs, an add-on edit and a payer that asks
    for a prior authorization: every table the scrubber reads holds a row for the clean claim."""
    PtpEdit.objects.create(column1="20610", column2="99213", modifier_indicator="1",
                           effective_date=date(2024, 1, 1),
                           release=cf.release(CodeSetKind.NCCI_PTP))  # fmt: skip
    mue = cf.release(CodeSetKind.NCCI_MUE)
    for code, most in (("99213", 1), ("20610", 2), ("11042", 1), ("11045", 3)):
        MueEdit.objects.create(code=code, max_units=most, adjudication_indicator="3", release=mue)
    AddOnEdit.objects.create(add_on_code="11045", primary_code="11042", edit_type="1",
                             release=cf.release(CodeSetKind.NCCI_ADD_ON))  # fmt: skip


CLEAN_LINES = [
    {"code": "99213", "modifiers": ["25"], "diagnosis_pointers": [1, 2]},
    {"code": "20610", "modifiers": ["RT"], "diagnosis_pointers": [2]},
    {"code": "11042", "diagnosis_pointers": [1]},
    {"code": "11045", "units": 2, "diagnosis_pointers": [1]},
]


def test_a_clean_claim_passes_every_edit(edit_tables, biller):
    claim = build(biller, diagnoses=["E11.9", "I10"], lines=CLEAN_LINES,
                  prior_authorization="PA-20610-1")  # fmt: skip
    PriorAuthRule.objects.create(payer_id=claim.payer_id, code="20610")
    assert scrub(claim, TODAY) == []
    # The edits could fire: the same visit without the modifier, over the MUE, without the
    # add-on's primary and without the authorization is held by each.
    broken = build(biller, diagnoses=["E11.9", "I10"], lines=[
        {"code": "99213", "diagnosis_pointers": [1, 2]},
        {"code": "20610", "units": 3, "modifiers": ["RT"], "diagnosis_pointers": [2]},
        {"code": "11045", "units": 2, "diagnosis_pointers": [1]},
    ])  # fmt: skip
    Claim.objects.filter(pk=broken.pk).update(payer_id=claim.payer_id)
    Coverage.objects.filter(pk=broken.coverage_id).update(payer_id=claim.payer_id)
    assert severities_of(broken) == [
        ("add_on_without_primary", "error"), ("ncci_pair", "error"),
        ("prior_auth_missing", "error"), ("units_over_mue", "error"),
    ]  # fmt: skip
    result = scrub_one(actor=biller, claim=claim, today=TODAY)
    assert result.findings == [] and claim.status == ClaimStatus.READY
    assert not ScrubFinding.objects.filter(claim=claim).exists()
    event = ClaimEvent.objects.filter(claim=claim).order_by("id").last()
    assert (event.from_status, event.to_status, event.actor) == ("draft", "ready", biller)
    assert Claim.objects.get(pk=claim.pk).scrubbed_at is not None


def test_patient_data_missing(codes, biller):
    patient = cf.patient(address_line1="", zip_code="")
    claim = build(biller, patient=patient)
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity) for f in found] == [("patient_data_missing", "error")]
    assert "address, ZIP code are missing" in found[0].message


def test_member_id_and_subscriber_missing(codes, biller):
    patient = cf.patient()
    cf.coverage(patient, member_id="", subscriber_relationship="spouse")
    claim = build(biller, patient=patient)
    assert severities_of(claim) == [
        ("member_id_missing", "error"), ("subscriber_data_missing", "error")]  # fmt: skip
    coverage = Coverage.objects.get(patient=patient)
    Coverage.objects.filter(pk=coverage.pk).update(
        member_id="W123", subscriber_first_name="Lee", subscriber_last_name="Tester",
        subscriber_date_of_birth=date(1979, 5, 1), subscriber_sex="M",
    )  # fmt: skip
    assert codes_of(claim) == []


def _bad_npi() -> str:
    good = factories.make_npi(4242)
    return good[:9] + str((int(good[9]) + 1) % 10)


def test_npi_invalid_and_taxonomy_missing(codes, biller):
    provider = factories.provider(npi=_bad_npi(), taxonomy="")
    claim = build(biller, rendering_provider=provider)
    assert severities_of(claim) == [
        ("rendering_npi_invalid", "error"), ("taxonomy_missing", "error")]  # fmt: skip


def test_referring_and_supervising_npis_checked(codes, biller):
    claim = build(biller, referring_provider_name="Dr Ref", referring_provider_npi=_bad_npi(),
                  supervising_provider=factories.provider(npi=factories.make_npi(777)))  # fmt: skip
    assert severities_of(claim) == [("referring_npi_invalid", "error")]


def test_the_billing_npi_is_checked(codes, biller):
    claim = build(biller)
    assert codes_of(claim) == []
    bad = _bad_npi()
    Practice.objects.update(group_npi=bad)
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity, f.line_number) for f in found] == [
        ("billing_npi_invalid", "error", None)]  # fmt: skip
    assert found[0].message == (
        f"The practice's group NPI {bad} is not a valid NPI (10 digits passing the check digit)."
    )
    Practice.objects.update(group_npi="")
    assert "group NPI (blank) is not a valid NPI" in scrub(claim, TODAY)[0].message
    scrub_one(actor=biller, claim=claim, today=TODAY)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.SCRUB_ERRORS
    assert ScrubFinding.objects.get(claim=claim).code == "billing_npi_invalid"


def test_the_supervising_npi_is_checked(codes, biller):
    supervisor = factories.provider(npi=_bad_npi(), first_name="Mia", last_name="Chen")
    claim = build(biller, supervising_provider=supervisor)
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity, f.line_number) for f in found] == [
        ("supervising_npi_invalid", "error", None)]  # fmt: skip
    assert found[0].message == (
        f"The supervising provider's NPI {supervisor.npi} is not a valid NPI."
    )
    type(supervisor).objects.filter(pk=supervisor.pk).update(npi="")
    assert [f.message for f in scrub(claim, TODAY)] == [
        "The supervising provider's NPI (blank) is not a valid NPI."]  # fmt: skip
    type(supervisor).objects.filter(pk=supervisor.pk).update(npi=factories.make_npi(778))
    assert codes_of(claim) == []


def test_diagnosis_not_billable_and_not_valid(codes, biller):
    claim = build(biller, diagnoses=["E11", "QQQ.99"], lines=[
        {"code": "99213", "diagnosis_pointers": [1, 2]}])  # fmt: skip
    found = {f.code: f for f in scrub(claim, TODAY)}
    assert set(found) == {"diagnosis_not_billable", "diagnosis_invalid"}
    assert {f.severity for f in found.values()} == {"error"}
    assert "E11 is a category" in found["diagnosis_not_billable"].message


def test_pointer_out_of_range(codes, biller):
    claim = build(biller, diagnoses=["E11.9"], lines=[
        {"code": "99213", "diagnosis_pointers": [1]},
        {"code": "97110", "diagnosis_pointers": [3]},
    ])  # fmt: skip
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity, f.line_number) for f in found] == [
        ("pointer_out_of_range", "error", 2)]  # fmt: skip
    assert "pointer 3 is out of range: the claim has 1 diagnosis" in found[0].message


def test_code_unknown_and_inactive(codes, biller):
    ProcedureCode.objects.filter(code="97110").update(termination_date=DAY - timedelta(days=1))
    claim = build(biller, lines=[{"code": "99213"}, {"code": "97110"}, {"code": "0000T"}])
    found = {(f.code, f.severity, f.line_number) for f in scrub(claim, TODAY)}
    assert found == {("code_inactive", "error", 2), ("code_unknown", "error", 3)}


def test_modifier_invalid(codes, biller):
    claim = build(biller, lines=[{"code": "99213", "modifiers": ["ZZ", "AA"]}])
    found = [(f.code, f.severity, f.message) for f in scrub(claim, TODAY)]
    assert found == [
        ("modifier_invalid", "error", "Line 1: ZZ is not a known modifier."),
        ("modifier_invalid", "error", "Line 1: modifier AA is retired."),
    ]


def test_units_not_positive(codes, biller):
    claim = build(biller)
    ClaimLine.objects.filter(claim=claim).update(units=0)
    assert [(f.code, f.severity, f.line_number) for f in scrub(claim, TODAY)] == [
        ("units_not_positive", "error", 1)]  # fmt: skip


@pytest.fixture
def ncci(codes):
    release = cf.release(CodeSetKind.NCCI_PTP)

    def pair(column1, column2, indicator):
        PtpEdit.objects.create(column1=column1, column2=column2, modifier_indicator=indicator,
                               effective_date=date(2024, 1, 1), release=release)  # fmt: skip

    return pair


def test_ncci_indicator_0_is_an_error_even_with_a_modifier(ncci, biller):
    ncci("20610", "97110", "0")
    claim = build(biller, lines=[{"code": "20610"}, {"code": "97110", "modifiers": ["59"]}])
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity, f.line_number) for f in found] == [("ncci_pair", "error", 2)]


def test_ncci_indicator_1_needs_a_bypass_modifier(ncci, biller):
    ncci("20610", "97110", "1")
    plain = build(biller, lines=[{"code": "20610"}, {"code": "97110", "modifiers": ["RT"]}])
    assert severities_of(plain) == [("ncci_pair", "error")]
    with_59 = build(biller, lines=[{"code": "20610"}, {"code": "97110", "modifiers": ["XU"]}])
    assert codes_of(with_59) == []


def test_ncci_indicator_9_and_deleted_pairs_are_ignored(ncci, biller):
    ncci("20610", "97110", "9")
    release = cf.release(CodeSetKind.NCCI_PTP)
    PtpEdit.objects.create(column1="99213", column2="20610", modifier_indicator="0",
                           deletion_date=DAY - timedelta(days=1), release=release)  # fmt: skip
    claim = build(biller, lines=[{"code": "99213"}, {"code": "20610"}, {"code": "97110"}])
    assert codes_of(claim) == []


def test_units_over_the_mue(codes, biller):
    MueEdit.objects.create(code="97110", max_units=4, adjudication_indicator="3",
                           release=cf.release(CodeSetKind.NCCI_MUE))  # fmt: skip
    claim = build(biller, lines=[{"code": "97110", "units": 3}, {"code": "97110", "units": 2}])
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity, f.line_number) for f in found] == [
        ("units_over_mue", "error", 1)]  # fmt: skip
    assert "5 units of 97110 on one day" in found[0].message
    under = build(biller, lines=[{"code": "97110", "units": 4}])
    assert codes_of(under) == []


def test_add_on_code_without_its_primary(codes, biller):
    AddOnEdit.objects.create(add_on_code="11045", primary_code="11042", edit_type="1",
                             release=cf.release(CodeSetKind.NCCI_ADD_ON))  # fmt: skip
    alone = build(biller, lines=[{"code": "99213"}, {"code": "11045"}])
    assert [(f.code, f.severity, f.line_number) for f in scrub(alone, TODAY)] == [
        ("add_on_without_primary", "error", 2)]  # fmt: skip
    with_primary = build(biller, lines=[{"code": "11042"}, {"code": "11045"}])
    assert codes_of(with_primary) == []


def test_coverage_not_active_on_the_date_of_service(codes, biller):
    claim = build(biller)
    Coverage.objects.filter(pk=claim.coverage_id).update(end_date=DAY - timedelta(days=1))
    assert severities_of(claim) == [("coverage_not_active", "error")]


def test_prior_authorization_missing(codes, biller):
    claim = build(biller, lines=[{"code": "20610"}])
    PriorAuthRule.objects.create(payer_id=claim.payer_id, code="20610")
    assert severities_of(claim) == [("prior_auth_missing", "error")]
    authorized = build(biller, lines=[{"code": "20610"}], prior_authorization="PA-7781")
    Claim.objects.filter(pk=authorized.pk).update(payer_id=claim.payer_id)
    Coverage.objects.filter(pk=authorized.coverage_id).update(payer_id=claim.payer_id)
    assert codes_of(authorized) == []


def test_timely_filing_passed_is_an_error_and_near_is_a_warning(codes, biller):
    claim = build(biller)  # the payer takes claims for 180 days
    passed = [(f.code, f.severity) for f in scrub(claim, DAY + timedelta(days=181))]
    assert passed == [("timely_filing_passed", "error")]
    near = [(f.code, f.severity) for f in scrub(claim, DAY + timedelta(days=170))]
    assert near == [("timely_filing_near", "warning")]


def test_duplicate_of_an_earlier_claim_is_a_warning(codes, biller):
    patient = cf.patient()
    first = build(biller, patient=patient)
    second = build(biller, patient=patient)
    assert scrub(first, TODAY) == []
    found = scrub(second, TODAY)
    assert [(f.code, f.severity) for f in found] == [("duplicate_suspected", "warning")]
    assert first.control_number in found[0].message
    other_codes = build(biller, patient=patient, lines=[{"code": "99214"}])
    assert codes_of(other_codes) == []


def test_a_replacement_is_not_a_duplicate_of_the_claim_it_replaces(codes, biller):
    claim = build(biller)
    Claim.objects.filter(pk=claim.pk).update(status="accepted", payer_claim_number="P1")
    claim.refresh_from_db()
    replacement = services.claim_replace(actor=biller, claim=claim, reason="corrected units")
    assert codes_of(replacement) == []


def test_warnings_hold_a_claim_until_overridden_with_a_reason(codes, biller, users):
    patient = cf.patient()
    build(biller, patient=patient)
    second = build(biller, patient=patient)
    result = scrub_one(actor=biller, claim=second, today=TODAY)
    assert result.status == second.status == ClaimStatus.SCRUB_ERRORS
    assert ScrubFinding.objects.filter(claim=second).get().code == "duplicate_suspected"
    with pytest.raises(NotPermitted):
        services.claim_override_warnings(actor=users["front_desk"], claim=second, reason="x")
    with pytest.raises(Exception, match="say why"):
        services.claim_override_warnings(actor=biller, claim=second, reason="  ")
    assert Claim.objects.get(pk=second.pk).status == ClaimStatus.SCRUB_ERRORS
    services.claim_override_warnings(actor=biller, claim=second, reason="Two separate visits")
    second.refresh_from_db()
    assert second.status == ClaimStatus.READY
    assert (second.warnings_overridden_by, second.override_reason) == (
        biller, "Two separate visits")  # fmt: skip
    event = ClaimEvent.objects.filter(claim=second).order_by("id").last()
    assert event.note == "Warnings overridden: Two separate visits"
    assert event.details == {"overridden": ["duplicate_suspected"]}
    scrub_one(actor=biller, claim=second, today=TODAY)  # scrubbed again: stays ready
    assert Claim.objects.get(pk=second.pk).status == ClaimStatus.READY


def test_a_charge_other_than_the_fee_schedule_is_a_warning_overridden_with_a_reason(codes, biller):
    Fee.objects.create(code="99213", charge_cents=12_000, effective_from=DAY - timedelta(days=90))
    Fee.objects.create(code="20610", charge_cents=20_000, effective_from=DAY + timedelta(days=1))
    Fee.objects.create(code="20610", modifier="RT", charge_cents=9_000,
                       effective_from=DAY - timedelta(days=90))  # fmt: skip
    same = build(biller, lines=[
        {"code": "99213", "units": 2, "charge_cents": 24_000},  # 2 x $120: as scheduled
        {"code": "20610", "modifiers": ["RT"], "charge_cents": 9_000},  # the modifier's fee
        {"code": "97110", "charge_cents": 5_000},  # no fee for it: nothing to compare
    ])  # fmt: skip
    assert scrub(same, TODAY) == []
    # The clinician typed their own charges: $150 for a $120 visit, and 20610 without RT
    # (its plain fee starts the day after the visit: none in force, no warning).
    typed = build(biller, lines=[
        {"code": "99213", "charge_cents": 15_000},
        {"code": "20610", "charge_cents": 7_700},
        {"code": "99213", "units": 2, "charge_cents": 20_000, "diagnosis_pointers": [1]},
    ])  # fmt: skip
    found = scrub(typed, TODAY)
    assert [(f.code, f.severity, f.line_number) for f in found] == [
        ("charge_not_scheduled", "warning", 1), ("charge_not_scheduled", "warning", 3),
    ]  # fmt: skip
    assert found[0].message == (
        "Line 1: charge differs from the fee schedule: $150.00 typed, schedule $120.00 for "
        "99213. Correct the charge, or send it on with the reason it differs."
    )
    assert "$200.00 typed, schedule $240.00 for 99213 (2 units at $120.00)" in found[1].message
    result = scrub_one(actor=biller, claim=typed, today=TODAY)
    assert result.status == ClaimStatus.SCRUB_ERRORS and result.errors == 0
    services.claim_override_warnings(actor=biller, claim=typed, reason="Extended visit, priced")
    typed.refresh_from_db()
    assert typed.status == ClaimStatus.READY
    event = ClaimEvent.objects.filter(claim=typed).order_by("id").last()
    assert event.details == {"overridden": ["charge_not_scheduled"]}


def test_errors_cannot_be_overridden(codes, biller):
    claim = build(biller, lines=[{"code": "99213", "diagnosis_pointers": [5]}])
    scrub_one(actor=biller, claim=claim, today=TODAY)
    with pytest.raises(InvalidTransition, match="fixed, not overridden"):
        services.claim_override_warnings(actor=biller, claim=claim, reason="please")
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.SCRUB_ERRORS


def test_a_fixed_claim_scrubs_clean_and_its_old_findings_go(codes, biller):
    claim = build(biller, lines=[{"code": "99213", "diagnosis_pointers": [5]}])
    scrub_one(actor=biller, claim=claim, today=TODAY)
    assert ScrubFinding.objects.filter(claim=claim).count() == 1
    ClaimLine.objects.filter(claim=claim).update(diagnosis_pointers=[1])
    scrub_one(actor=biller, claim=claim, today=TODAY)
    assert not ScrubFinding.objects.filter(claim=claim).exists()
    history = list(ClaimEvent.objects.filter(claim=claim).order_by("id")
                   .values_list("from_status", "to_status"))  # fmt: skip
    assert history == [("", "draft"), ("draft", "scrub_errors"), ("scrub_errors", "ready")]


def test_a_submitted_claim_is_not_scrubbed(codes, biller):
    claim = build(biller)
    Claim.objects.filter(pk=claim.pk).update(status="submitted")
    claim.refresh_from_db()
    with pytest.raises(InvalidTransition):
        scrub_one(actor=biller, claim=claim, today=TODAY)
    assert scrub_claims([claim], actor=biller, today=TODAY) == []


def test_scrubbing_many_claims_takes_the_same_queries_as_a_few(codes, biller):
    def run(count):
        claims = [build(biller, lines=[{"code": "99213"}, {"code": "97110"}]) for _ in range(count)]
        with CaptureQueriesContext(connection) as queries:
            results = scrub_claims(claims, actor=biller, today=TODAY)
        assert len(results) == count
        return len(queries)

    assert run(2) == run(7)


def test_the_ncci_release_in_force_on_the_date_of_service_is_read(codes, biller):
    old = cf.release(CodeSetKind.NCCI_PTP, effective_date=date(2024, 1, 1))
    cf.release(CodeSetKind.NCCI_PTP, effective_date=date(2026, 7, 1))  # drops the pair
    PtpEdit.objects.create(column1="20610", column2="97110", modifier_indicator="0",
                           release=old)  # fmt: skip
    lines = [{"code": "20610"}, {"code": "97110"}]
    assert codes_of(build(biller, lines=lines)) == []  # served in October 2026
    earlier = build(biller, lines=lines, date_of_service=date(2026, 3, 2))
    assert codes_of(earlier, today=date(2026, 3, 12)) == ["ncci_pair"]


# --- Modifiers that fit the code, voids, MUE 0, the billing ZIP -------------------------------


@pytest.fixture
def em_codes(db):
    cf.procedure_codes(["99213", "11102", "93000", "71046"])
    for code in ("25", "59", "XU", "26", "TC", "RT", "LT", "50", "F1"):
        cf.modifier(code, ncci_bypass=code in ("25", "59", "XU", "RT", "LT", "50", "F1"))
    release = cf.release(CodeSetKind.MPFS_RVU)
    for code, pctc in (("99213", "0"), ("71046", "1"), ("93000", "4")):
        MpfsRvu.objects.create(code=code, pctc_indicator=pctc, work_rvu=Decimal("1"),
                               non_facility_pe_rvu=Decimal("1"), facility_pe_rvu=Decimal("1"),
                               mp_rvu=Decimal("1"), conversion_factor=Decimal("33"),
                               release=release)  # fmt: skip


def test_a_modifier_must_fit_its_code(em_codes, biller):
    claim = build(biller, lines=[
        {"code": "93000", "modifiers": ["25"]},   # 25 is for a visit
        {"code": "99213", "modifiers": ["59"]},   # 59 never goes on a visit
        {"code": "99213", "modifiers": ["26"]},   # a visit has no professional part
        {"code": "71046", "modifiers": ["26"]},   # a chest X-ray has one: fine
        {"code": "93000", "modifiers": ["TC"]},   # a global-only test: no technical part
    ])  # fmt: skip
    found = [(f.code, f.line_number) for f in scrub(claim, TODAY) if f.code == "modifier_invalid"]
    assert found == [("modifier_invalid", 1), ("modifier_invalid", 2), ("modifier_invalid", 3),
                     ("modifier_invalid", 5)]  # fmt: skip
    messages = {f.line_number: f.message for f in scrub(claim, TODAY)}
    assert "modifier 25 is for an evaluation and management visit; 93000 is not one" in messages[1]
    assert "modifier 59 does not go on an E/M visit (99213)" in messages[2]
    assert "MPFS PC/TC indicator 0" in messages[3]
    assert {f.severity for f in scrub(claim, TODAY) if f.code == "modifier_invalid"} == {"error"}


def test_an_anatomic_modifier_on_a_visit_is_an_error_and_on_a_procedure_fine(em_codes, biller):
    claim = build(biller, diagnoses=["E11.9", "I10"], lines=[
        {"code": "99213", "modifiers": ["25", "LT"], "diagnosis_pointers": [1]},  # a side
        {"code": "99213", "modifiers": ["50"], "diagnosis_pointers": [1]},  # bilateral
        {"code": "99213", "modifiers": ["F1"], "diagnosis_pointers": [2]},  # a finger
        {"code": "11102", "modifiers": ["RT"], "diagnosis_pointers": [2]},  # a biopsy: fine
    ])  # fmt: skip
    found = [f for f in scrub(claim, TODAY) if f.code == "modifier_invalid"]
    assert [(f.line_number, f.severity) for f in found] == [(1, "error"), (2, "error"),
                                                            (3, "error")]  # fmt: skip
    assert found[0].message == (
        "Line 1: modifier LT names a side or a part of the body, which fits a procedure, not an "
        "E/M visit (99213): take it off the visit's line (the procedure's line carries it)."
    )
    assert "modifier 50 names a side" in found[1].message
    assert "modifier F1 names a side" in found[2].message
    result = scrub_one(actor=biller, claim=claim, today=TODAY)
    assert result.status == ClaimStatus.SCRUB_ERRORS
    assert ScrubFinding.objects.filter(claim=claim, code="modifier_invalid").count() == 3
    # The same visit with the side on the procedure only passes.
    clean = build(biller, diagnoses=["E11.9", "I10"], lines=[
        {"code": "99213", "modifiers": ["25"], "diagnosis_pointers": [1]},
        {"code": "11102", "modifiers": ["LT"], "diagnosis_pointers": [2]},
    ])  # fmt: skip
    assert scrub(clean, TODAY) == []


def test_an_em_pair_is_paid_with_25_on_the_visit_only(em_codes, biller):
    PtpEdit.objects.create(column1="11102", column2="99213", modifier_indicator="1",
                           release=cf.release(CodeSetKind.NCCI_PTP))  # fmt: skip
    right = build(biller, lines=[{"code": "99213", "modifiers": ["25"]}, {"code": "11102"}])
    assert "ncci_pair" not in codes_of(right)
    wrong_line = build(biller, lines=[{"code": "99213"}, {"code": "11102", "modifiers": ["25"]}])
    found = {f.code: f for f in scrub(wrong_line, TODAY)}
    assert (
        "ncci_pair" in found and "modifier 25 on the E/M line (99213)" in found["ncci_pair"].message
    )
    assert found["ncci_pair"].severity == "error"
    for visit, procedure in ((["59"], []), ([], ["59"]), ([], ["RT"]), (["LT"], [])):
        other = build(biller, lines=[{"code": "99213", "modifiers": visit},
                                     {"code": "11102", "modifiers": procedure}])  # fmt: skip
        assert "ncci_pair" in codes_of(other), (visit, procedure)


def test_a_void_is_not_held_by_an_ended_coverage_or_the_filing_limit(codes, biller):
    claim = build(biller)
    Claim.objects.filter(pk=claim.pk).update(status="accepted", payer_claim_number="PCN-1")
    claim.refresh_from_db()
    void = services.claim_void(actor=biller, claim=claim, reason="Billed a coverage that ended")
    Coverage.objects.filter(pk=claim.coverage_id).update(end_date=DAY - timedelta(days=1))
    PriorAuthRule.objects.create(payer_id=claim.payer_id, code="99213")
    late = DAY + timedelta(days=400)
    assert codes_of(void, today=late) == []
    # The claim itself (were it sent again) would be held by each.
    assert {"coverage_not_active", "timely_filing_passed", "prior_auth_missing"} <= set(
        codes_of(claim, today=late)
    )


def test_an_mue_of_zero_is_a_warning_that_medicare_does_not_pay_it(codes, biller):
    MueEdit.objects.create(code="97110", max_units=0, adjudication_indicator="2",
                           release=cf.release(CodeSetKind.NCCI_MUE))  # fmt: skip
    claim = build(biller, lines=[{"code": "97110"}, {"code": "97110"}])
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity, f.line_number) for f in found] == [
        ("mue_not_payable", "warning", 1)
    ]
    assert "not payable under Medicare policy" in found[0].message


def test_the_billing_zip_needs_nine_digits(codes, biller):
    claim = build(biller)
    Practice.objects.update(zip_code="62701")
    found = scrub(claim, TODAY)
    assert [(f.code, f.severity) for f in found] == [("billing_zip_incomplete", "error")]
    assert "62701 needs all 9 digits (ZIP+4)" in found[0].message
    Practice.objects.update(zip_code="62701-1234")
    assert codes_of(claim) == []


def test_an_identifier_holding_an_x12_delimiter_is_an_error(codes, biller):
    claim = build(biller)
    Coverage.objects.filter(pk=claim.coverage_id).update(member_id="AB*123", group_number="G~1")
    found = [f for f in scrub(claim, TODAY) if f.code == "identifier_invalid"]
    assert len(found) == 2 and {f.severity for f in found} == {"error"}
    assert "member id “AB*123”" in found[0].message and "group number “G~1”" in found[1].message
