"""Sending a 270 for a coverage: written, recorded and sent through the clearinghouse once per
key, nothing written without a clearinghouse, a failed send kept with its reason and sent
again; the 271 that comes back (uploaded or collected from the mailbox) answers the request,
and its benefits show at check-in, in chart prep and on the patient's record."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from medoffice.claims import eligibility, eligibility_requests, mailbox_services
from medoffice.claims.models import (
    ControlCounter,
    EligibilityRequest,
    MailboxReceipt,
    MailboxSubmission,
)
from medoffice.claims.tests.eligibility_support import answer_271
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.core.exceptions import Conflict, InvalidInput, NotPermitted
from medoffice.core.models import AuditEvent
from medoffice.patients.models import EligibilityCheck
from medoffice.testing import patients_factories as pf
from medoffice.x12 import read

pytestmark = pytest.mark.django_db


@pytest.fixture
def house(tmp_path, users):
    return folder_clearinghouse(tmp_path / "mailbox", users["manager"])


@pytest.fixture
def outbox(house):
    from pathlib import Path

    return Path(house.outbound_path)


def _ask(coverage, user, key="key-1", **kwargs):
    return eligibility_requests.request_eligibility(coverage, user, idempotency_key=key, **kwargs)


def test_a_request_is_written_sent_and_recorded(desk_day, users, house, outbox):
    desk = users["front_desk"]
    made = _ask(desk_day.coverage, desk)
    assert made.status == "pending" and made.error == ""
    assert made.requested_by == desk and made.clearinghouse == house
    assert made.sent_at is not None and made.service_date is not None
    (sent,) = list(outbox.iterdir())
    assert sent.name == made.file_name and sent.read_bytes() == bytes(made.content)
    (member,) = [m for t in read(sent.read_bytes()).transactions() for m in t.data.members()]
    isa13 = ControlCounter.objects.get(kind="ISA").last_value
    assert made.trace_number == member.trace_number == f"{desk_day.coverage.pk}.{isa13}"
    assert member.member_id == desk_day.coverage.member_id
    submission = MailboxSubmission.objects.get()
    assert made.submission == submission and submission.status == "sent"
    assert submission.sent_by == desk and submission.name == made.file_name
    created = AuditEvent.objects.get(
        object_type="claims.eligibilityrequest", object_id=str(made.pk), action="create"
    )
    assert created.actor_id == desk.pk
    assert created.patient_id == str(desk_day.patient.pk)


def test_a_request_goes_over_sftp_with_the_clearinghouses_ids(desk_day, users, sftp_server):
    from medoffice.claims.tests.mailbox_support import sftp_clearinghouse

    house = sftp_clearinghouse(sftp_server, users["manager"])
    made = _ask(desk_day.coverage, users["front_desk"])
    assert made.status == "pending" and made.clearinghouse == house
    assert made.file_name.startswith("270-RIVERSIDE01-")
    sent = (sftp_server.root / "outbound" / made.file_name).read_bytes()
    assert sent == bytes(made.content)
    (interchange,) = list(read(sent).interchanges)
    assert (interchange.sender_id, interchange.receiver_id) == ("RIVERSIDE01", "AVAILITY")


def test_the_same_key_makes_one_request_and_sends_once(desk_day, users, house, outbox):
    desk = users["front_desk"]
    first = _ask(desk_day.coverage, desk)
    again = _ask(desk_day.coverage, desk)
    assert again.pk == first.pk
    assert EligibilityRequest.objects.count() == 1 and MailboxSubmission.objects.count() == 1
    assert len(list(outbox.iterdir())) == 1
    other = _ask(desk_day.coverage, desk, key="key-2")  # a new key asks again
    assert other.pk != first.pk and len(list(outbox.iterdir())) == 2
    with pytest.raises(Conflict, match="another coverage"):
        _ask(pf.coverage(patient=desk_day.patient, priority=2), desk)


def test_without_a_clearinghouse_nothing_is_written(desk_day, users):
    with pytest.raises(InvalidInput, match="No clearinghouse is set up") as refused:
        _ask(desk_day.coverage, users["front_desk"])
    assert refused.value.field == "clearinghouse"
    assert not EligibilityRequest.objects.exists()
    assert not ControlCounter.objects.exists() and not MailboxSubmission.objects.exists()


def test_a_switched_off_clearinghouse_and_a_payer_without_an_id_are_refused(desk_day, users, house):
    house.is_active = False
    house.save()
    with pytest.raises(InvalidInput, match="No clearinghouse"):
        _ask(desk_day.coverage, users["front_desk"])
    with pytest.raises(InvalidInput, match="switched off"):
        _ask(desk_day.coverage, users["front_desk"], clearinghouse=house)
    house.is_active = True
    house.save()
    paper = pf.coverage(payer=pf.payer(name="Paper Only", payer_id=""))
    with pytest.raises(InvalidInput, match="Paper Only has no electronic payer id"):
        _ask(paper, users["front_desk"])
    assert not EligibilityRequest.objects.exists() and not MailboxSubmission.objects.exists()


def test_a_role_without_the_permission_writes_nothing(desk_day, users, house):
    with pytest.raises(NotPermitted):
        _ask(desk_day.coverage, users["clinician"])
    assert not EligibilityRequest.objects.exists() and not ControlCounter.objects.exists()


def test_a_failed_send_is_kept_with_its_reason_and_the_same_key_sends_it(
    desk_day, users, house, outbox
):
    outbox.rmdir()
    made = _ask(desk_day.coverage, users["front_desk"])
    assert made.status == "failed" and made.error
    assert made.sent_at is None
    outbox.mkdir()
    again = _ask(desk_day.coverage, users["front_desk"])
    assert again.pk == made.pk and again.status == "pending" and again.error == ""
    assert [p.name for p in outbox.iterdir()] == [made.file_name]
    assert MailboxSubmission.objects.get().attempts == 2


def test_the_271_answers_the_request_and_fills_the_check(desk_day, users, house):
    made = _ask(desk_day.coverage, users["front_desk"])
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["biller"])
    made.refresh_from_db()
    check = EligibilityCheck.objects.get()
    assert made.status == "answered" and made.answer == check
    assert made.answered_at == check.checked_at
    assert check.status == "active" and check.reference == made.trace_number
    assert check.benefits["deductible_remaining"] == "1234.56"
    assert check.copay_reported == Decimal("35.00")


def test_the_mailbox_collecting_the_271_marks_the_request_answered(desk_day, users, house):
    from pathlib import Path

    made = _ask(desk_day.coverage, users["front_desk"])
    (Path(house.inbound_path) / "answer.271").write_bytes(
        answer_271(desk_day.coverage, made.trace_number)
    )
    result = mailbox_services.collect(actor=users["biller"], clearinghouse=house)
    assert result.ok, result.summary()
    receipt = MailboxReceipt.objects.get()
    assert receipt.kind == "271" and receipt.processed and receipt.handler_error == ""
    made.refresh_from_db()
    assert made.status == "answered" and made.answer is not None
    assert made.answer.benefits["out_of_pocket_remaining"] == "4321.00"


def test_a_portal_file_is_written_without_a_clearinghouse(desk_day, users):
    made = eligibility_requests.eligibility_file(
        desk_day.coverage, users["front_desk"], idempotency_key="portal-1"
    )
    assert made.status == "file" and made.clearinghouse is None
    assert b"ST*270*" in bytes(made.content)
    assert not MailboxSubmission.objects.exists()


# --- the pages ------------------------------------------------------------------------------


def _answered(desk_day, users):
    made = _ask(desk_day.coverage, users["front_desk"])
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["biller"])
    return made


BENEFIT_TEXT = (
    "SILVER 500 PLAN", "$35.00", "$1,500.00", "$1,234.56", "20%", "$5,000.00", "$4,321.00",
)  # fmt: skip


def test_the_check_in_page_shows_the_271s_benefits(desk_day, users, house, client_for):
    page_url = reverse("reception:check_in", args=[desk_day.appointment.pk])
    desk = client_for("front_desk")
    html = desk.get(page_url).content.decode()
    assert "Check eligibility with" in html and "never checked" in html
    made = _ask(desk_day.coverage, users["front_desk"])
    html = desk.get(page_url).content.decode()
    assert "requested" in html and made.trace_number in html
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["biller"])
    html = desk.get(page_url).content.decode()
    for text in BENEFIT_TEXT:
        assert text in html, text
    assert "Active on" in html and "Electronic (270/271)" in html
    assert "waiting for the payer" not in html
    assert '<th scope="row">Deductible remaining</th><td>$1,234.56</td>' in html


def test_chart_prep_shows_the_benefits_and_a_waiting_request(desk_day, users, house, client_for):
    from medoffice.reception import selectors

    day = selectors.local_today()
    url = reverse("reception:chart_prep") + f"?date={day.isoformat()}"
    _ask(desk_day.coverage, users["front_desk"], key="first")
    html = client_for("front_desk").get(url).content.decode()
    assert "eligibility requested" in html and "waiting for the 271" in html
    made = _ask(desk_day.coverage, users["front_desk"], key="second")
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["biller"])
    html = client_for("front_desk").get(url).content.decode()
    for text in BENEFIT_TEXT:
        assert text in html, text
    # The 271 answered the second request; the first, made before the answer, no longer
    # shows as waiting, and the coverage verified today is no longer a to-do.
    assert "waiting for the 271" not in html
    assert EligibilityRequest.objects.get(idempotency_key="first").status == "pending"
    (row,) = selectors.chart_prep(day=day)
    assert "eligibility" not in row.kinds()
    assert row.coverages[0].answer.status == "active"


def test_check_in_takes_the_271_as_the_visits_eligibility(desk_day, users, house):
    from medoffice.reception import services

    _answered(desk_day, users)
    result = services.check_in(
        appointment_id=desk_day.appointment.pk, checked_in_by=users["front_desk"],
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    assert result.visit.eligibility_check == EligibilityCheck.objects.get()
    assert result.eligibility_checks == []


def test_an_inactive_271_makes_the_visits_eligibility_inactive(desk_day, users, house):
    from medoffice.patients.selectors import latest_eligibility
    from medoffice.reception import services

    made = _ask(desk_day.coverage, users["front_desk"])
    answer = answer_271(desk_day.coverage, made.trace_number, active=False)
    result = eligibility.apply_271(answer, users["biller"])
    (outcome,) = result.matched
    assert outcome.result == "inactive" and result.unmatched == []
    check = EligibilityCheck.objects.get()
    assert check.status == "inactive" and check.method == "x12_271"
    assert check.reference == made.trace_number and check.note.startswith("271: inactive")
    assert check.copay_reported is None
    assert check.benefits["copay"] is None and check.benefits["deductible"] is None
    assert check.benefits["coverage_begin"] == "2026-01-01" and check.benefits["plan"] == ""
    made.refresh_from_db()
    assert made.status == "answered" and made.answer == check
    result = services.check_in(
        appointment_id=desk_day.appointment.pk, checked_in_by=users["front_desk"],
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    visit = result.visit
    visit.refresh_from_db()
    assert visit.coverage == desk_day.coverage and visit.eligibility_check == check
    assert visit.eligibility_check.status == "inactive"
    assert latest_eligibility(desk_day.coverage) == check
    assert EligibilityCheck.objects.count() == 1  # the check-in took the 271's, made none


def test_the_check_in_page_shows_an_inactive_271(desk_day, users, house, client_for):
    made = _ask(desk_day.coverage, users["front_desk"])
    answer = answer_271(desk_day.coverage, made.trace_number, active=False)
    eligibility.apply_271(answer, users["biller"])
    page_url = reverse("reception:check_in", args=[desk_day.appointment.pk])
    html = client_for("front_desk").get(page_url).content.decode()
    assert '<span class="badge bad">Inactive on' in html and "Electronic (270/271)" in html
    assert "Active on" not in html and "SILVER 500 PLAN" not in html


def test_an_old_271_is_not_taken_as_todays_check(desk_day, users, house):
    from medoffice.reception import services

    _answered(desk_day, users)
    EligibilityCheck.objects.update(checked_at=EligibilityCheck.objects.get().checked_at
                                    - timedelta(days=3))  # fmt: skip
    result = services.check_in(
        appointment_id=desk_day.appointment.pk, checked_in_by=users["front_desk"],
        demographics_confirmed=True, coverage_confirmed=True,
    )  # fmt: skip
    assert result.visit.eligibility_check is None


def test_the_check_eligibility_button_sends_once_per_token(desk_day, users, house, client_for):
    desk = client_for("front_desk")
    url = reverse("claims:eligibility_send", args=[desk_day.coverage.pk])
    answer = desk.post(url, {"eligibility_token": "tok-1", "in_form": "1"}, HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200 and "Eligibility request sent to Portal uploads" in html
    assert f'id="coverage-eligibility-{desk_day.coverage.pk}"' in html
    assert "<form" not in html  # inside the check-in form, the box makes no form of its own
    desk.post(url, {"eligibility_token": "tok-1"}, HTTP_HX_REQUEST="true")
    assert EligibilityRequest.objects.count() == 1 and MailboxSubmission.objects.count() == 1
    plain = desk.post(url, {"eligibility_token": "tok-2", "next": "/reception/"})
    assert plain.status_code == 302 and plain["Location"] == "/reception/"
    assert EligibilityRequest.objects.count() == 2
    refused = desk.post(url, {}, HTTP_HX_REQUEST="true")
    assert "no idempotency key" in refused.content.decode()
    assert EligibilityRequest.objects.count() == 2


def test_the_button_says_why_without_a_clearinghouse_and_offers_the_file(
    desk_day, users, client_for
):
    desk = client_for("front_desk")
    url = reverse("claims:eligibility_send", args=[desk_day.coverage.pk])
    html = desk.post(url, {"eligibility_token": "t"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No clearinghouse is set up" in html and "Download the 270 file" in html
    assert not EligibilityRequest.objects.exists()
    got = desk.post(
        reverse("claims:eligibility_file", args=[desk_day.coverage.pk]), {"eligibility_token": "t"}
    )
    assert got.status_code == 302
    download = desk.get(got["Location"])
    assert download.status_code == 200 and download.content.startswith(b"ISA*")
    assert download["Content-Disposition"].startswith('attachment; filename="270-')
    assert AuditEvent.objects.filter(action="download", object_type="claims.eligibilityrequest")


def test_after_a_download_the_box_says_the_file_is_for_the_portal_not_sent(
    desk_day, users, client_for
):
    desk = client_for("front_desk")
    page_url = reverse("reception:check_in", args=[desk_day.appointment.pk])
    got = desk.post(
        reverse("claims:eligibility_file", args=[desk_day.coverage.pk]), {"eligibility_token": "t"}
    )
    assert got.status_code == 302
    made = EligibilityRequest.objects.get()
    assert made.status == "file" and made.submission is None
    box = desk.get(page_url).content.decode()
    payer = desk_day.coverage.payer.name
    assert (
        f"(trace {made.trace_number}) for {payer}'s portal: nothing was sent. Upload the 271 "
        f'the portal gives back on the <a href="{reverse("claims:acks_apply")}">responses page</a>.'
    ) in box
    assert "270 sent" not in box and "waiting for the payer" not in box
    # The same box on the patient's record; once the portal's 271 is in, the line goes.
    record = desk.get(reverse("patients:detail", args=[desk_day.patient.pk])).content.decode()
    assert "270 file downloaded" in record and "270 sent" not in record
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["front_desk"])
    assert "270 file downloaded" not in desk.get(page_url).content.decode()


def test_the_pages_refuse_a_role_without_the_permission(desk_day, house, client_for):
    clinician = client_for("clinician")
    url = reverse("claims:eligibility_send", args=[desk_day.coverage.pk])
    assert clinician.post(url, {"eligibility_token": "t"}).status_code == 403
    assert (
        client_for("front_desk")
        .post(reverse("claims:eligibility_send", args=[999999]), {"eligibility_token": "t"})
        .status_code
        == 404
    )
    assert not EligibilityRequest.objects.exists()


def test_the_patient_record_shows_eligibility_with_the_button(desk_day, users, house, client_for):
    record = reverse("patients:detail", args=[desk_day.patient.pk])
    html = client_for("front_desk").get(record).content.decode()
    assert 'id="record-eligibility"' in html and "Check eligibility with" in html
    _answered(desk_day, users)
    html = client_for("front_desk").get(record).content.decode()
    assert "$1,234.56" in html and "SILVER 500 PLAN" in html
    assert "Check eligibility with" not in client_for("clinician").get(record).content.decode()


def test_a_check_recorded_after_the_request_ends_its_wait(desk_day, users, house, client_for):
    from medoffice.patients.services import eligibility_record

    page_url = reverse("reception:check_in", args=[desk_day.appointment.pk])
    _ask(desk_day.coverage, users["front_desk"])
    assert "waiting for the payer" in client_for("front_desk").get(page_url).content.decode()
    eligibility_record(
        coverage=desk_day.coverage, status="active", checked_by=users["front_desk"],
        reference="call 123",
    )  # fmt: skip
    html = client_for("front_desk").get(page_url).content.decode()
    assert "waiting for the payer" not in html and "Manual (phone or portal)" in html


def test_the_desk_uploads_the_portals_271_but_no_claim_answer(desk_day, users, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    desk = client_for("front_desk")
    url = reverse("claims:acks_apply")
    page = desk.get(url).content.decode()
    assert 'value="271"' in page and 'value="999"' not in page
    content = answer_271(desk_day.coverage, "1.1")
    applied = desk.post(url, {"kind": "271", "file": SimpleUploadedFile("a.271", content)})
    assert (
        applied.status_code == 200
        and EligibilityCheck.objects.filter(coverage=desk_day.coverage).exists()
    )
    refused = desk.post(url, {"kind": "999", "file": SimpleUploadedFile("a.999", b"ISA")})
    assert refused.status_code == 400 and "Choose what the file is: 271" in refused.content.decode()


def test_a_271_amount_no_office_could_mean_is_left_out_with_a_warning(desk_day, users, house):
    made = _ask(desk_day.coverage, users["front_desk"])
    answer = answer_271(desk_day.coverage, made.trace_number)
    answer = answer.replace(b"*23*1500.00*", b"*23*99999999999999999*").replace(b"*0.2*", b"*7.5*")
    result = eligibility.apply_271(answer, users["biller"])
    (outcome,) = result.matched
    assert outcome.result == "active"
    warnings = [w for w in result.warnings if "left out" in w]
    assert len(warnings) == 2
    assert "the deductible $99,999,999,999,999,999.00 is not an amount from $0.00" in warnings[0]
    assert "the coinsurance 750% is not from 0 to 100 percent" in warnings[1]
    check = EligibilityCheck.objects.get()
    assert check.benefits["deductible"] is None and check.benefits["coinsurance_percent"] is None
    assert check.benefits["copay"] == "35.00"  # the rest of the answer is kept
