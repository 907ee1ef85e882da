"""Eligibility: the 270 written for a coverage reads back; a 271 from the corpus fills an
eligibility check that the reception's check-in shows; unmatched members are listed; a file
applies once; malformed X12 writes nothing; the permission."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from medoffice.claims import eligibility
from medoffice.claims.batches import Exchange
from medoffice.claims.models import AppliedFile, ControlCounter
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import Practice
from medoffice.patients.models import EligibilityCheck
from medoffice.testing import patients_factories as pf
from medoffice.x12 import read
from medoffice.x12.tests.test_corpus import CORPUS
from medoffice.x12.tests.test_professional_claim_writer import _pyx12_errors
from medoffice.x12.transactions.eligibility import Eligibility

needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared X12 corpus is not here")
EXCHANGE = Exchange("1497758544", "MEDOFFICE CLINIC", "BILLING", "2175550100", "RCV01", "RCV01")


def corpus_file(name: str) -> bytes:
    assert CORPUS is not None
    return (CORPUS / Path(name)).read_bytes()


def _inquiry(content: bytes) -> Eligibility:
    document = read(content, strict=True)
    (transaction,) = list(document.transactions())
    assert transaction.kind == "270" and transaction.warnings == []
    assert isinstance(transaction.data, Eligibility)
    return transaction.data


@pytest.mark.django_db
def test_a_270_for_the_subscriber_reads_back(practice, users):
    Practice.objects.update(legal_name="Medoffice Clinic", group_npi="1497758544")
    payer = pf.payer(name="Acme Health", payer_id="60054")
    patient = pf.patient(first_name="John", last_name="Smith", date_of_birth=dt.date(1963, 5, 19),
                         sex="M")  # fmt: skip
    coverage = pf.coverage(patient=patient, payer=payer, member_id="W123", group_number="G9")
    content = eligibility.eligibility_request(
        coverage, ("30", "98"), actor=users["front_desk"], exchange=EXCHANGE,
        service_date=dt.date(2026, 12, 3),
    )  # fmt: skip
    data = _inquiry(content)
    (source,) = data.sources
    assert source.party is not None and source.party.identifier == "60054"
    (receiver,) = source.receivers
    assert receiver.party is not None and receiver.party.identifier == "1497758544"
    (member,) = data.members()
    assert (member.person.name, member.person.first_name, member.member_id) == (
        "SMITH", "JOHN", "W123",
    )  # fmt: skip
    assert member.person.birth_date == dt.date(1963, 5, 19)
    assert member.person.reference("6P") == "G9"
    isa13 = ControlCounter.objects.get(submitter_id="1497758544", kind="ISA").last_value
    assert member.trace_number == f"{coverage.pk}.{isa13}"
    assert [inquiry.service_types for inquiry in member.inquiries] == [("30",), ("98",)]
    assert member.date("291") == (dt.date(2026, 12, 3), dt.date(2026, 12, 3))
    again = eligibility.eligibility_request(coverage, exchange=EXCHANGE)
    assert next(_inquiry(again).members()).trace_number == f"{coverage.pk}.{isa13 + 1}"


@pytest.mark.django_db
def test_a_270_for_a_dependent_puts_the_patient_under_the_subscriber(practice):
    payer = pf.payer(payer_id="60054")
    child = pf.patient(first_name="Sam", last_name="Doe", date_of_birth=dt.date(2015, 6, 1))
    coverage = pf.coverage(
        patient=child, payer=payer, member_id="XYZ1", subscriber_relationship="child",
        subscriber_first_name="Jane", subscriber_last_name="Doe",
        subscriber_date_of_birth=dt.date(1980, 1, 2), subscriber_sex="F",
    )  # fmt: skip
    data = _inquiry(eligibility.eligibility_request(coverage, exchange=EXCHANGE))
    subscriber, dependent = data.members()
    assert (subscriber.person.first_name, subscriber.member_id, subscriber.inquiries) == (
        "JANE", "XYZ1", [],
    )  # fmt: skip
    assert dependent.is_dependent and dependent.person.first_name == "SAM"
    assert dependent.relationship == "19" and dependent.member_id == "XYZ1"
    assert dependent.inquiries[0].service_types == ("30",)


def _pyx12_has(implementation: str) -> bool:
    pyx12 = pytest.importorskip("pyx12")
    maps = Path(pyx12.__file__).parent / "map" / "maps.xml"
    return f'vriic="{implementation}"' in maps.read_text()


@pytest.mark.django_db
def test_pyx12_validates_the_270_where_it_has_the_map(practice, tmp_path):
    if not _pyx12_has("005010X279A1"):
        pytest.skip("pyx12 4.0.0 maps only the 4010 270 (X092A1), not 005010X279A1")
    coverage = pf.coverage(payer=pf.payer(payer_id="60054"))
    valid, problems, _ack = _pyx12_errors(
        eligibility.eligibility_request(coverage, exchange=EXCHANGE), tmp_path
    )
    assert problems == [] and valid


@pytest.mark.django_db
def test_a_coverage_without_a_payer_id_is_refused(practice):
    coverage = pf.coverage(payer=pf.payer(name="Paper Only", payer_id=""))
    with pytest.raises(InvalidInput, match="Paper Only has no electronic payer id"):
        eligibility.eligibility_request(coverage, exchange=EXCHANGE)


# --- the 271 ---------------------------------------------------------------------------------

DEMO_271 = "271/LinuxForHealth__x12__demo.271"  # SMITH JOHN 123456789, GOLD 123 PLAN, copay 10


def john_smith():
    patient = pf.patient(first_name="John", last_name="Smith", date_of_birth=dt.date(1963, 5, 19))
    return pf.coverage(patient=patient, member_id="123456789", copay=Decimal("25.00"))


@needs_corpus
@pytest.mark.django_db
def test_a_corpus_271_fills_an_eligibility_check(users):
    coverage = john_smith()
    other = pf.coverage(member_id="123456789")  # another patient with the same member id
    result = eligibility.apply_271(corpus_file(DEMO_271), users["biller"], file_name="demo.271")
    check = EligibilityCheck.objects.get()
    assert check.coverage == coverage and check.coverage != other
    assert (check.status, check.method) == ("active", "x12_271")
    assert check.reference == "93175-012547" and check.copay_reported == Decimal("10.00")
    assert check.benefits["plan"] == "GOLD 123 PLAN"
    assert check.benefits["copay"] == "10.00" and check.benefits["coverage_begin"] == "2006-01-01"
    assert check.benefits["payer"] == "ABC COMPANY"
    assert [(o.result, o.reference) for o in result.matched] == [
        ("active", "JOHN SMITH (123456789)")
    ]
    assert AppliedFile.objects.get().summary["matched"][0]["result"] == "active"


@needs_corpus
@pytest.mark.django_db
def test_the_check_in_page_shows_the_eligibility_from_the_271(desk_day, users, client_for):
    patient = desk_day.patient
    coverage = desk_day.coverage
    coverage.member_id = "123456789"
    coverage.save()
    patient.first_name, patient.last_name = "John", "Smith"
    patient.date_of_birth = dt.date(1963, 5, 19)
    patient.save()
    page = client_for("front_desk").get(
        reverse("reception:check_in", args=[desk_day.appointment.pk])
    )
    assert "never checked" in page.content.decode()
    eligibility.apply_271(corpus_file(DEMO_271), users["front_desk"])
    page = client_for("front_desk").get(
        reverse("reception:check_in", args=[desk_day.appointment.pk])
    )
    html = page.content.decode()
    assert page.status_code == 200 and "never checked" not in html
    assert "Active on" in html and "Electronic (270/271)" in html


@needs_corpus
@pytest.mark.django_db
def test_a_271_for_a_dependent_and_an_unknown_member(users):
    # LinuxForHealth dependent: subscriber SMITH JOHN 123456789, dependent SMITH MARY born
    # 1998-10-14 (without an id of her own: the subscriber's)
    mary = pf.patient(first_name="Mary", last_name="Smith", date_of_birth=dt.date(1998, 10, 14))
    coverage = pf.coverage(
        patient=mary, member_id="123456789", subscriber_relationship="spouse",
        subscriber_first_name="John", subscriber_last_name="Smith",
    )  # fmt: skip
    eligibility.apply_271(
        corpus_file("271/LinuxForHealth__x12__dependent-health-benefit-check.271"), users["biller"]
    )
    check = EligibilityCheck.objects.get()
    assert check.coverage == coverage and check.status == "active"
    # John's own answer is not Mary's, though she is insured under his id
    result = eligibility.apply_271(corpus_file(DEMO_271), users["biller"])
    assert result.matched == [] and EligibilityCheck.objects.count() == 1
    assert "is on file, but not for JOHN SMITH" in result.unmatched[0].words[0]
    pf.coverage(member_id="555")
    unknown = corpus_file(DEMO_271).replace(b"MI*123456789", b"MI*987654321")
    result = eligibility.apply_271(unknown, users["biller"])
    assert result.unmatched[0].words[0] == "no active coverage has member id 987654321"


@needs_corpus
@pytest.mark.django_db
def test_a_member_id_on_file_for_someone_else_is_not_matched(users):
    other = pf.patient(first_name="Ann", last_name="Other", date_of_birth=dt.date(1990, 1, 1))
    pf.coverage(patient=other, member_id="123456789")
    result = eligibility.apply_271(corpus_file(DEMO_271), users["biller"])
    assert EligibilityCheck.objects.count() == 0
    assert "is on file, but not for JOHN SMITH" in result.unmatched[0].words[0]


@needs_corpus
@pytest.mark.django_db
def test_the_same_271_twice_makes_one_check_and_malformed_makes_none(users):
    john_smith()
    content = corpus_file(DEMO_271)
    eligibility.apply_271(content, users["biller"])
    assert eligibility.apply_271(content, users["biller"]).already_applied
    assert EligibilityCheck.objects.count() == 1
    broken = content.replace(b"EB*1**30", b"EB*ZZ**30")
    with pytest.raises(InvalidInput, match=r"segment \d+ \(EB\): EB01"):
        eligibility.apply_271(broken, users["biller"])
    assert EligibilityCheck.objects.count() == 1 and AppliedFile.objects.count() == 1


@needs_corpus
@pytest.mark.django_db
def test_eligibility_needs_its_permission(users):
    coverage = john_smith()
    with pytest.raises(NotPermitted):
        eligibility.apply_271(corpus_file(DEMO_271), users["clinician"])
    with pytest.raises(NotPermitted):
        eligibility.eligibility_request(coverage, actor=users["clinician"], exchange=EXCHANGE)
    assert EligibilityCheck.objects.count() == 0 and AppliedFile.objects.count() == 0


@pytest.mark.django_db
def test_a_270_writes_accented_names_in_plain_letters(practice, users):
    patient = pf.patient(first_name="Renée", last_name="García-López", sex="F")
    coverage = pf.coverage(patient=patient, payer=pf.payer(name="Acme Salud", payer_id="60054"))
    content = eligibility.eligibility_request(coverage, actor=users["front_desk"],
                                              exchange=EXCHANGE)  # fmt: skip
    (member,) = _inquiry(content).members()
    assert (member.person.name, member.person.first_name) == ("GARCIA-LOPEZ", "RENEE")
