"""999 and 277CA applied to claims: the corpus files on claims built to match them, files
written with the library for the accepted and rejected cases, a file applied once only,
malformed X12 refused with nothing written, and the permission."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from django.urls import reverse
from django.utils import timezone

from medoffice.claims import acknowledgements as acks
from medoffice.claims import batches
from medoffice.claims.models import AppliedFile, Claim, ClaimBatch, ClaimEvent, ClaimStatus
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import Practice
from medoffice.testing.claim_builders import make_claim
from medoffice.x12 import read
from medoffice.x12.tests.test_corpus import CORPUS
from medoffice.x12.tests.test_professional_claim_writer import _pyx12_errors
from medoffice.x12.writer import Group, Interchange, Segment, TransactionSet, write

needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared X12 corpus is not here")
WHEN = dt.datetime(2026, 11, 20, 9, 30)


def corpus_file(name: str) -> bytes:
    assert CORPUS is not None
    return (CORPUS / Path(name)).read_bytes()


def exchange_for(submitter: str) -> batches.Exchange:
    return batches.Exchange(
        submitter_id=submitter, submitter_name="MEDOFFICE CLINIC", contact_name="BILLING",
        contact_phone="2175550100", receiver_id="RCV01", receiver_name="RCV01",
    )  # fmt: skip


def sent_batch(claims: list[Claim], *, submitter: str, group: int, st02: int = 1) -> ClaimBatch:
    """The claims in a batch sent with these control numbers, as batches.py records it (its
    batches carry ST02 1; another ST02 is set in the written file for corpus 999s)."""
    Practice.objects.update(phone="+12175550100")
    loaded = Claim.objects.filter(pk__in=[c.pk for c in claims])
    content = batches.write_837p(
        loaded, exchange_for(submitter), interchange_number=group, group_number=group,
        created=WHEN, reference=f"{group:09d}",
    )  # fmt: skip
    if st02 != 1:
        content = re.sub(rb"(ST|SE)\*(837|\d+)\*0001", rb"\1*\2*%04d" % st02, content)
    batch = ClaimBatch.objects.create(
        interchange_control_number=group, group_control_number=group, submitter_id=submitter,
        file_name=f"837P-{submitter}-{group:09d}.x12", sha256="x", claim_count=len(claims),
        total_charge_cents=sum(c.total_charge_cents for c in claims), content=content,
    )  # fmt: skip
    Claim.objects.filter(pk__in=[c.pk for c in claims]).update(
        batch=batch, status=ClaimStatus.BATCHED
    )
    return batch


def ack_999(
    *, submitter: str, group: int, st02: int = 1, code: str = "A", errors: Sequence[Segment] = ()
) -> bytes:
    """A 999 from the clearinghouse (sender RCV01) to the submitter, written with the library."""
    group_code = "A" if code in ("A", "E") else "R"
    body: list[Segment] = [
        ("AK1", "HC", str(group), "005010X222A1"),
        ("AK2", "837", f"{st02:04d}", "005010X222A1"),
        *errors,
        ("IK5", code, *(["5"] if code == "R" else [])),
        ("AK9", group_code, "1", "1", "1" if group_code == "A" else "0"),
    ]
    return write(
        [
            Interchange(
                sender_id="RCV01", receiver_id=submitter, control_number=900 + group,
                created=WHEN,
                groups=[Group("FA", "RCV01", submitter, 900 + group, "005010X231A1",
                              [TransactionSet("999", 1, "005010X231A1", body)])],
            )
        ]
    )  # fmt: skip


def _statuses(*claims: Claim) -> list[str]:
    return [Claim.objects.get(pk=c.pk).status for c in claims]


# --- 999 from the corpus ---------------------------------------------------------------------


@needs_corpus
@pytest.mark.django_db
def test_corpus_999_accepted_accepts_the_claims_of_its_batch(users):
    # ISA08 ETIN, AK1*HC*28, AK2*837*0028, IK5*A
    claims = [make_claim(lines=1), make_claim(lines=2)]
    other = make_claim(lines=1)
    sent_batch(claims, submitter="ETIN", group=28, st02=28)
    sent_batch([other], submitter="ETIN", group=29)
    name = "999/Project-Herophilus__Project-Herophilus-Assets__999_Sample_Accepted_.txt"
    result = acks.apply_999(corpus_file(name), actor=users["biller"], file_name="accepted.999")
    assert _statuses(*claims, other) == ["accepted", "accepted", "batched"]
    events = ClaimEvent.objects.filter(claim__in=claims, to_status="accepted")
    assert events.count() == 2
    event = events.first()
    assert event.from_status == "batched" and event.actor == users["biller"]
    assert event.details["group_control_number"] == "28" and event.details["code"] == "A"
    assert event.note == "999 accepted: Accepted"
    batch_outcome, *claim_outcomes = result.matched
    assert batch_outcome.result == "accepted"
    assert {o.result for o in claim_outcomes} == {"accepted"}
    assert sorted(o.reference for o in claim_outcomes) == sorted(c.control_number for c in claims)
    assert result.unmatched == []
    assert ClaimBatch.objects.get(submitter_id="ETIN", interchange_control_number=28).submitted_at


@needs_corpus
@pytest.mark.django_db
def test_corpus_999_rejected_returns_the_claims_with_the_reasons_in_words(users):
    # AK2*837*0028, IK3*NM*17**1 (unrecognized segment id), IK5*R*5
    claims = [make_claim(lines=1), make_claim(lines=1)]
    sent_batch(claims, submitter="ETIN", group=28, st02=28)
    name = "999/imsweb__x12-parser__x12_999_rejected.txt"
    acks.apply_999(corpus_file(name), actor=users["biller"])
    assert _statuses(*claims) == ["rejected", "rejected"]
    event = ClaimEvent.objects.get(claim=claims[0], to_status="rejected")
    assert "segment NM (position 17): Unrecognized segment ID" in event.note
    assert "One or more segments in error" in event.note
    assert event.details["code"] == "R"


@needs_corpus
@pytest.mark.django_db
def test_corpus_999_pinpoints_the_claim_its_context_names(users):
    # DHS Wisconsin: AK1*HC*17456; AK2*837*002 rejected with IK3*CLM + CTX*CLM01:123456789
    named = make_claim(lines=1, control_number="123456789")
    bystander = make_claim(lines=1)
    batch = sent_batch([named, bystander], submitter="987654321", group=17456, st02=2)
    result = acks.apply_999(
        corpus_file("999/Inteligenz__X12Parser__DHS_Wisconsin_Sample.txt"), actor=users["biller"]
    )
    assert _statuses(named, bystander) == ["rejected", "rejected"]
    own = ClaimEvent.objects.get(claim=named, to_status="rejected")
    assert "segment CLM (position 22): Segment has data element errors" in own.note
    assert "element 2 (data element 782): Required data element missing" in own.note
    other = ClaimEvent.objects.get(claim=bystander, to_status="rejected")
    assert "errors in other claims: 123456789" in other.note
    assert [o.reference for o in result.matched if o.result == "rejected"] == [
        batch.file_name, "123456789", bystander.control_number,
    ]  # fmt: skip


# --- 999 written with the library -----------------------------------------------------------


@pytest.fixture
def exchange(practice):
    Practice.objects.update(phone="+12175550100")
    return batches.practice_exchange(receiver_id="RCV01", usage="T")


def _group_of(batch: ClaimBatch) -> int:
    """The GS06 the batch's file carries (read back, not taken from the record)."""
    (group,) = read(bytes(batch.content)).interchanges[0].groups
    assert int(group.control_number) == batch.group_control_number
    return batch.group_control_number


@pytest.mark.django_db
def test_a_999_for_a_built_batch_accepts_it_and_is_valid_for_pyx12(users, exchange, tmp_path):
    claims = [make_claim(lines=1, status=ClaimStatus.READY) for _ in range(2)]
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = ack_999(submitter=exchange.submitter_id, group=_group_of(batch))
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid
    result = acks.apply_999(content, actor=users["biller"])
    assert _statuses(*claims) == ["accepted", "accepted"]
    assert Claim.objects.get(pk=claims[0].pk).submitted_at is not None
    assert [o.result for o in result.matched] == ["accepted", "accepted", "accepted"]


@pytest.mark.django_db
def test_a_rejecting_999_names_the_claim_and_the_element_in_error(users, exchange, tmp_path):
    claims = [make_claim(lines=1, status=ClaimStatus.READY) for _ in range(2)]
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    bad = claims[1].control_number
    content = ack_999(
        submitter=exchange.submitter_id, group=_group_of(batch), code="R",
        errors=[("IK3", "CLM", "30", "2300", "8"), ("CTX", ("CLM01", bad)),
                ("IK4", ("2",), "782", "7", "ABC")],
    )  # fmt: skip
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid
    acks.apply_999(content, actor=users["biller"])
    assert _statuses(*claims) == ["rejected", "rejected"]
    note = ClaimEvent.objects.get(claim=claims[1], to_status="rejected").note
    assert "segment CLM (position 30, loop 2300): Segment has data element errors" in note
    assert "element 2 (data element 782): Invalid code value ('ABC')" in note
    first = ClaimEvent.objects.get(claim=claims[0], to_status="rejected").note
    assert f"errors in other claims: {bad}" in first


@pytest.mark.django_db
def test_accepted_with_errors_rejects_only_the_claims_named(users, exchange, tmp_path):
    claims = [make_claim(lines=1, status=ClaimStatus.READY) for _ in range(2)]
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    bad = claims[0].control_number
    content = ack_999(
        submitter=exchange.submitter_id, group=_group_of(batch), code="E",
        errors=[("IK3", "REF", "40", "2300", "I9"), ("CTX", ("CLM01", bad))],
    )  # fmt: skip
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid
    acks.apply_999(content, actor=users["biller"])
    assert _statuses(*claims) == ["rejected", "accepted"]
    assert "segment REF (position 40, loop 2300)" in (
        ClaimEvent.objects.get(claim=claims[0], to_status="rejected").note
    )


@pytest.mark.django_db
def test_a_999_that_matches_no_batch_is_reported_and_changes_nothing(users, exchange):
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    events = ClaimEvent.objects.count()
    for content in (
        ack_999(submitter=exchange.submitter_id, group=_group_of(batch) + 50),
        ack_999(submitter="SOMEONEELSE", group=_group_of(batch)),
    ):
        result = acks.apply_999(content, actor=users["biller"])
        assert result.matched == [] and [o.result for o in result.unmatched] == ["not found"]
    assert _statuses(claim) == ["batched"] and ClaimEvent.objects.count() == events


@pytest.mark.django_db
def test_the_same_999_twice_has_one_effect(users, exchange):
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = ack_999(submitter=exchange.submitter_id, group=_group_of(batch))
    first = acks.apply_999(content, actor=users["biller"], file_name="a.999")
    events = ClaimEvent.objects.count()
    again = acks.apply_999(content, actor=users["manager"], file_name="b.999")
    assert not first.already_applied and again.already_applied
    assert again.file_name == "a.999" and again.matched == []
    assert ClaimEvent.objects.count() == events and AppliedFile.objects.count() == 1
    assert _statuses(claim) == ["accepted"]


@pytest.mark.django_db
def test_malformed_x12_is_refused_in_words_and_nothing_is_written(users, exchange):
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    good = ack_999(submitter=exchange.submitter_id, group=_group_of(batch))
    broken = good.replace(b"IK5*A~", b"IK5*Q~")
    events = ClaimEvent.objects.count()
    with pytest.raises(InvalidInput, match=r"segment 6 \(IK5\): IK501"):
        acks.apply_999(broken, actor=users["biller"])
    with pytest.raises(InvalidInput, match="not valid X12"):
        acks.apply_999(b"hello, this is not X12", actor=users["biller"])
    with pytest.raises(InvalidInput, match="holds no 277CA"):
        acks.apply_277ca(good, actor=users["biller"])
    assert AppliedFile.objects.count() == 0 and ClaimEvent.objects.count() == events
    assert _statuses(claim) == ["batched"]


@pytest.mark.django_db
def test_applying_needs_the_submit_permission(users, exchange):
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = ack_999(submitter=exchange.submitter_id, group=_group_of(batch))
    for role in ("front_desk", "clinician"):
        with pytest.raises(NotPermitted):
            acks.apply_999(content, actor=users[role])
    assert AppliedFile.objects.count() == 0 and _statuses(claim) == ["batched"]


# --- 277CA -----------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.django_db
def test_corpus_277ca_accepted_keeps_the_payer_claim_number(users):
    claim = make_claim(lines=1, control_number="5781", status=ClaimStatus.SUBMITTED)
    result = acks.apply_277ca(
        corpus_file("277ca/imsweb__x12-parser__x12_277CA_accepted.txt"), actor=users["biller"]
    )
    claim.refresh_from_db()
    assert claim.status == "accepted" and claim.payer_claim_number == "1107000000014420"
    event = ClaimEvent.objects.get(claim=claim, to_status="accepted")
    assert event.from_status == "submitted"
    assert event.details["statuses"][0]["category"] == "A2"
    assert "Acknowledgement/Acceptance into adjudication system" in event.note
    assert [(o.reference, o.result) for o in result.matched] == [("5781", "accepted")]


@needs_corpus
@pytest.mark.django_db
def test_a_277ca_after_the_999_accepted_gives_the_payer_number_or_rejects(users):
    accepted = make_claim(lines=1, control_number="5781", status=ClaimStatus.ACCEPTED)
    refused = make_claim(lines=1, control_number="3920394930203", status=ClaimStatus.ACCEPTED)
    result = acks.apply_277ca(
        corpus_file("277ca/imsweb__x12-parser__x12_277CA_accepted.txt"), actor=users["biller"]
    )
    accepted.refresh_from_db()
    assert accepted.status == "accepted" and accepted.payer_claim_number == "1107000000014420"
    assert [(o.reference, o.result) for o in result.matched] == [("5781", "accepted")]
    assert ClaimEvent.objects.filter(claim=accepted, note__startswith="277CA accepted").exists()
    acks.apply_277ca(
        corpus_file("277ca/imsweb__x12-parser__x12_277CA_rejected.txt"), actor=users["biller"]
    )
    assert _statuses(refused) == ["rejected"]
    assert ClaimEvent.objects.get(claim=refused, to_status="rejected").from_status == "accepted"


@needs_corpus
@pytest.mark.django_db
def test_corpus_277ca_rejected_returns_the_claim_with_the_status_in_words(users):
    claim = make_claim(lines=1, control_number="3920394930203", status=ClaimStatus.SUBMITTED)
    acks.apply_277ca(
        corpus_file("277ca/imsweb__x12-parser__x12_277CA_rejected.txt"), actor=users["biller"]
    )
    claim.refresh_from_db()
    assert claim.status == "rejected"
    event = ClaimEvent.objects.get(claim=claim, to_status="rejected")
    assert event.details["statuses"][0] == {
        "category": "A7", "code": "562", "entity": "85",
        "words": event.details["statuses"][0]["words"],
    }  # fmt: skip
    assert "Acknowledgement/Rejected for invalid information" in event.note
    assert "(Billing provider)" in event.note


def ack_277ca(
    entries: list[tuple[Claim | str, str, list[tuple[str, str]]]],
    *,
    batch_trace: str = "B1",
    charge: str = "100.01",
    receiver: str = "S1",
) -> bytes:
    """A 277CA with one patient level per claim: (claim, its STC01, [(line id, line STC01)]);
    `batch_trace` is the BHT03 of the 837 it answers (2200B TRN02), `charge` each claim's
    STC04."""
    body: list[Segment] = [
        ("BHT", "0085", "08", "REF1", "20261121", "1000", "TH"),
        ("HL", "1", None, "20", "1"), ("NM1", "PR", "2", "CLEARINGHOUSE", None, None, None, None,
                                         "46", "RCV01"),
        ("TRN", "1", "77"), ("DTP", "050", "D8", "20261121"), ("DTP", "009", "D8", "20261121"),
        ("HL", "2", "1", "21", "1"), ("NM1", "41", "2", "MEDOFFICE CLINIC", None, None, None,
                                        None, "46", "S1"),
        ("TRN", "2", batch_trace), ("STC", ("A1", "19"), "20261121", "WQ", "100"),
        ("HL", "3", "2", "19", "1"), ("NM1", "85", "2", "MEDOFFICE CLINIC", None, None, None,
                                        None, "XX", "1497758544"),
        ("TRN", "1", "0"), ("STC", ("A1", "19"), None, "WQ", "100"),
    ]  # fmt: skip
    for number, (claim, status, lines) in enumerate(entries, start=4):
        pcn = claim if isinstance(claim, str) else claim.control_number
        served = "20261102" if isinstance(claim, str) else (
            f"{claim.encounter.date_of_service:%Y%m%d}"
        )  # fmt: skip
        body += [
            ("HL", str(number), "3", "PT"),
            ("NM1", "QC", "1", "DOE", "JANE", None, None, None, "MI", "XYZ123456"),
            ("TRN", "2", pcn),
            ("STC", tuple(status.split(":")), "20261121", "WQ" if status < "A3" else "U", charge),
        ]
        if status.startswith("A2"):
            body.append(("REF", "1K", f"PAYER-{pcn}"))
        body.append(("DTP", "472", "D8", served))
        for line_id, line_status in lines:
            body += [
                ("SVC", ("HC", "99213"), "100"),
                ("STC", tuple(line_status.split(":")), "20261121", "U"),  # X214: U only
                ("REF", "FJ", line_id),
                ("DTP", "472", "D8", served),
            ]
    return write(
        [
            Interchange(
                sender_id="RCV01", receiver_id=receiver, control_number=5, created=WHEN,
                groups=[Group("HN", "RCV01", receiver, 5, "005010X214",
                              [TransactionSet("277", 1, "005010X214", body)])],
            )
        ]
    )  # fmt: skip


@pytest.mark.django_db
def test_a_277ca_maps_claims_and_lines_and_lists_what_it_cannot_find(users, tmp_path):
    good = make_claim(lines=2, status=ClaimStatus.SUBMITTED)
    bad = make_claim(lines=1, status=ClaimStatus.SUBMITTED)
    line1, line2 = good.lines.order_by("line_number")
    (bad_line,) = bad.lines.all()
    content = ack_277ca(
        [
            (good, "A2:20", [(str(line1.pk), "A2:20"), (str(line2.pk), "A2:20"), ("999999", "A2:20")]),
            (bad, "A7:562:85", [(str(bad_line.pk), "A7:454")]),
            ("NOSUCHCLAIM", "A2:20", []),
        ]
    )  # fmt: skip
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid
    result = acks.apply_277ca(content, actor=users["biller"])
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, good.payer_claim_number) == ("accepted", f"PAYER-{good.control_number}")
    assert bad.status == "rejected" and bad.payer_claim_number == ""
    assert [line.status for line in good.lines.order_by("line_number")] == ["accepted"] * 2
    assert [line.status for line in bad.lines.all()] == ["rejected"]
    assert sorted(o.reference for o in result.unmatched) == sorted(
        [f"{good.control_number} line 999999", "NOSUCHCLAIM"]
    )
    rejected = next(o for o in result.matched if o.reference == bad.control_number)
    assert rejected.result == "rejected"
    assert any("(Billing provider)" in word for word in rejected.words)


@pytest.mark.django_db
def test_a_277ca_leaves_claims_that_moved_on_and_the_same_file_applies_once(users):
    paid = make_claim(lines=1, status=ClaimStatus.PAID)
    waiting = make_claim(lines=1, status=ClaimStatus.SUBMITTED)
    content = ack_277ca([(paid, "A7:21", []), (waiting, "A2:20", [])])
    result = acks.apply_277ca(content, actor=users["biller"])
    assert _statuses(paid, waiting) == ["paid", "accepted"]
    assert [o.result for o in result.matched] == ["unchanged", "accepted"]
    events = ClaimEvent.objects.count()
    assert acks.apply_277ca(content, actor=users["biller"]).already_applied
    assert ClaimEvent.objects.count() == events


@pytest.mark.django_db
def test_a_file_applied_by_the_mailbox_has_no_person(practice):
    claim = make_claim(lines=1, status=ClaimStatus.SUBMITTED)
    acks.apply_277ca(ack_277ca([(claim, "A2:20", [])]), file_name="in/1.277")
    event = ClaimEvent.objects.get(claim=claim, to_status="accepted")
    assert event.actor is None and event.at <= timezone.now()
    assert AppliedFile.objects.get().applied_by is None


# --- the upload page -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_upload_page_is_for_claims_submit_holders_and_the_desk_for_271s(
    client, client_for, users
):
    url = reverse("claims:acks_apply")
    assert client.get(url).status_code == 302  # to sign in
    # The desk (it checks eligibility) may upload a 271 only: see test_eligibility_requests.
    assert client_for("front_desk").post(url, {"kind": "999"}).status_code == 400
    for role in ("clinician", "auditor", "medical_assistant"):
        assert client_for(role).get(url).status_code == 403
        assert client_for(role).post(url, {"kind": "999"}).status_code == 403
    page = client_for("biller").get(url)
    assert (
        page.status_code == 200 and "Apply a 999 / 277CA / 271 / 277 file" in page.content.decode()
    )


@pytest.mark.django_db
def test_a_file_with_a_wrong_trailer_is_applied_and_the_page_says_what_was_wrong(
    client_for, users, exchange
):
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = re.sub(rb"SE\*\d+\*", b"SE*99*", ack_999(submitter=exchange.submitter_id,
                                                       group=_group_of(batch)))  # fmt: skip
    page = client_for("biller").post(
        reverse("claims:acks_apply"), {"kind": "999", "file": SimpleUploadedFile("t.999", content)}
    )
    html = page.content.decode()
    assert page.status_code == 200 and _statuses(claim) == ["accepted"]
    notice = html.split('id="reader-warnings"')[1].split("</div>")[0]
    assert "(SE)" in notice and "99" in notice
    assert AppliedFile.objects.get().summary["warnings"]


@pytest.mark.django_db
def test_the_upload_page_shows_what_matched_and_what_did_not(client_for, users, exchange):
    claims = [make_claim(lines=1, status=ClaimStatus.READY) for _ in range(2)]
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    biller = client_for("biller")
    url = reverse("claims:acks_apply")
    content = ack_999(submitter=exchange.submitter_id, group=_group_of(batch))
    upload = SimpleUploadedFile("in.999", content)
    page = biller.post(url, {"kind": "999", "file": upload})
    html = page.content.decode()
    assert page.status_code == 200 and "999 applied" in html
    assert batch.file_name in html and claims[0].control_number in html
    assert _statuses(*claims) == ["accepted", "accepted"]
    event = ClaimEvent.objects.filter(to_status="accepted").first()
    assert event.actor == users["biller"]
    again = biller.post(url, {"kind": "999", "file": SimpleUploadedFile("again.999", content)})
    assert "already applied" in again.content.decode()
    other = ack_999(submitter=exchange.submitter_id, group=_group_of(batch) + 7)
    page = biller.post(url, {"kind": "999", "file": SimpleUploadedFile("x.999", other)})
    assert "0 matched, 1 not matched" in page.content.decode()
    assert "no batch of submitter" in page.content.decode()


@pytest.mark.django_db
def test_the_upload_page_refuses_malformed_x12_in_words(client_for, users, exchange):
    make_claim(lines=1, status=ClaimStatus.READY)
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = ack_999(submitter=exchange.submitter_id, group=_group_of(batch))
    broken = content.replace(b"IK5*A~", b"IK5*Q~")
    biller = client_for("biller")
    url = reverse("claims:acks_apply")
    page = biller.post(url, {"kind": "999", "file": SimpleUploadedFile("bad.999", broken)})
    assert page.status_code == 400
    assert "segment 6 (IK5): IK501" in page.content.decode().replace("&#x27;", "'")
    assert biller.post(url, {"kind": "999"}).status_code == 400
    assert (
        biller.post(url, {"kind": "835", "file": SimpleUploadedFile("a", content)}).status_code
        == 400
    )
    assert AppliedFile.objects.count() == 0
    assert ClaimEvent.objects.exclude(to_status="batched").count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_same_file_applied_twice_at_once_has_one_effect(practice, users):
    """The unique (kind, sha256) row decides, not a read before it: two billers applying the
    same 277CA at the same moment make one set of changes."""
    claims = [make_claim(lines=1, status=ClaimStatus.SUBMITTED) for _ in range(3)]
    content = ack_277ca([(claim, "A2:20", []) for claim in claims])
    start = threading.Barrier(2)
    results: list[acks.ApplyResult] = []
    errors: list[Exception] = []

    def work(role: str) -> None:
        try:
            start.wait()
            results.append(acks.apply_277ca(content, actor=users[role]))
        except Exception as exc:  # SQLite may refuse the second writer: it must not half-apply
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=work, args=(role,)) for role in ("biller", "manager")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AppliedFile.objects.count() == 1
    assert ClaimEvent.objects.filter(to_status="accepted").count() == 3
    assert _statuses(*claims) == ["accepted"] * 3
    assert [r.already_applied for r in results if r.already_applied] == [True] * (len(results) - 1)
    assert len(results) + len(errors) == 2 and results


# --- through the mailbox ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_277ca_collected_by_the_mailbox_is_applied_once(tmp_path, users):
    from medoffice.claims import mailbox_services
    from medoffice.claims.models import MailboxReceipt
    from medoffice.claims.tests.mailbox_support import folder_clearinghouse

    claim = make_claim(lines=1, status=ClaimStatus.SUBMITTED)
    house = folder_clearinghouse(tmp_path, users["manager"])
    (tmp_path / "in" / "claims.277").write_bytes(ack_277ca([(claim, "A2:20", [])]))
    (tmp_path / "in" / "broken.999").write_bytes(b"ISA*00*broken~")
    mailbox_services.collect(actor=users["biller"], clearinghouse=house)
    receipt = MailboxReceipt.objects.get(name="claims.277")
    assert receipt.processed and receipt.handler_error == ""
    assert _statuses(claim) == ["accepted"]
    assert AppliedFile.objects.get().file_name == "claims.277"
    event = ClaimEvent.objects.get(claim=claim, to_status="accepted")
    assert event.actor is None and event.details["file"] == "claims.277"


# --- a late answer to a rebuilt claim's earlier submission ----------------------------------


def _send(claim: Claim, biller, exchange) -> ClaimBatch:
    """The claim (ready) batched and sent, as the batches page does; its batch."""
    from medoffice.claims import claims_services

    batch = batches.batch_build(actor=biller, exchange=exchange)
    claim.refresh_from_db()
    claims_services.claim_set_status(actor=biller, claim=claim, to="submitted", note="sent")
    return batch


@pytest.mark.django_db
@pytest.mark.parametrize("rebuilt_cents", [12_000, 10_000])  # the charge corrected, or not
def test_a_late_277ca_to_a_rebuilt_claims_first_submission_is_stale_and_moves_nothing(
    users, exchange, rebuilt_cents
):
    from medoffice.claims import claims_services
    from medoffice.claims.models import Encounter, ServiceLine

    biller = users["biller"]
    claim = make_claim(lines=1, status=ClaimStatus.READY)  # $100.00
    first = _send(claim, biller, exchange)
    first_trace = f"{first.interchange_control_number:09d}"
    rejection = ack_277ca(
        [(claim, "A7:562:85", [])],
        receiver=exchange.submitter_id,
        batch_trace=first_trace,
        charge="100.00",
    )
    acks.apply_277ca(rejection, actor=biller)
    assert _statuses(claim) == ["rejected"]
    # The visit is corrected and the claim rebuilt (same control number), sent again.
    Encounter.objects.filter(pk=claim.encounter_id).update(status="ready")
    ServiceLine.objects.filter(encounter_id=claim.encounter_id).update(charge_cents=rebuilt_cents)
    now = f"{rebuilt_cents / 100:.2f}"
    rebuilt = claims_services.claim_build(actor=biller, encounter=claim.encounter)
    assert rebuilt.pk == claim.pk and rebuilt.total_charge_cents == rebuilt_cents
    claims_services.claim_set_status(actor=biller, claim=rebuilt, to="ready", note="scrubbed")
    second = _send(rebuilt, biller, exchange)
    second_trace = f"{second.interchange_control_number:09d}"
    assert second.pk != first.pk and _statuses(claim) == ["submitted"]

    # Late answers to the first submission: by its batch (the charge may be the same), or, when
    # the charge was corrected, by the charge it billed though the trace names no batch of ours.
    late_ones = [(first_trace, "100.00")]
    if rebuilt_cents != 10_000:
        late_ones.append(("B1", "100.00"))
    for trace, charge in late_ones:
        events = ClaimEvent.objects.filter(claim=claim).count()
        late = ack_277ca(
            [(claim, "A2:20", [])], receiver=exchange.submitter_id, batch_trace=trace, charge=charge
        )
        result = acks.apply_277ca(late, actor=biller)
        claim.refresh_from_db()
        assert (claim.status, claim.payer_claim_number) == ("submitted", "")
        assert [(o.reference, o.result) for o in result.matched] == [
            (claim.control_number, "stale")
        ], (trace, charge, result.as_dict())
        assert ClaimEvent.objects.filter(claim=claim).count() == events + 1
        stale = ClaimEvent.objects.filter(claim=claim).latest("id")
        assert (stale.from_status, stale.to_status) == ("submitted", "submitted")
        assert stale.details["stale"] is True and stale.details["answers_batch"] == first.pk
        assert stale.note.startswith(
            f"277CA stale, not applied: it answers the earlier submission in batch "
            f"{first.file_name} (BHT03 {first_trace}, $100.00), not the current one (batch "
            f"{second.file_name} (BHT03 {second_trace}, ${now}))"
        )

    # An answer that fits no submission of the claim (its batch and its charge disagree)
    # changes nothing, and is listed and kept on the history.
    for trace, charge in ((second_trace, "999.00"), (first_trace, "555.00")):
        odd = acks.apply_277ca(
            ack_277ca(
                [(claim, "A7:562:85", [])],
                receiver=exchange.submitter_id,
                batch_trace=trace,
                charge=charge,
            ),
            actor=biller,
        )
        assert _statuses(claim) == ["submitted"] and odd.matched == []
        assert [(o.reference, o.result) for o in odd.unmatched] == [
            (claim.control_number, "not matched")
        ]
        assert (
            ClaimEvent.objects.filter(claim=claim)
            .latest("id")
            .note.startswith(
                f"277CA not applied: the answer (BHT03 {trace}, charge ${charge}) fits none"
            )
        )
    # The answer to the current submission applies.
    current = ack_277ca(
        [(claim, "A2:20", [])], receiver=exchange.submitter_id, batch_trace=second_trace, charge=now
    )
    acks.apply_277ca(current, actor=biller)
    claim.refresh_from_db()
    assert (claim.status, claim.payer_claim_number) == ("accepted", f"PAYER-{claim.control_number}")


@pytest.mark.django_db
def test_a_rebuilt_claim_not_sent_again_takes_no_answer_to_its_first_submission(users, exchange):
    biller = users["biller"]
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    first = _send(claim, biller, exchange)
    Claim.objects.filter(pk=claim.pk).update(status=ClaimStatus.DRAFT, batch=None)  # rebuilt
    late = ack_277ca([(claim, "A7:562:85", [])],
                     receiver=exchange.submitter_id, batch_trace=f"{first.interchange_control_number:09d}", charge="100.00")  # fmt: skip
    result = acks.apply_277ca(late, actor=biller)
    assert _statuses(claim) == ["draft"]
    assert [o.result for o in result.matched] == ["stale"]
    assert "not the current one (none out: not sent since)" in result.matched[0].words[0]


@pytest.mark.django_db
def test_a_late_277_to_a_rebuilt_claims_first_submission_is_stale_by_its_charge(users, exchange):
    """A 277 names no batch: the charge it reports ($100.00, the first submission's; the
    rebuilt claim bills $120.00) tells which submission it answers."""
    from medoffice.claims import claim_status, claims_services
    from medoffice.claims.models import Encounter, ServiceLine
    from medoffice.claims.tests.test_claim_status import status_277

    biller = users["biller"]
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    first = _send(claim, biller, exchange)
    claims_services.claim_set_status(actor=biller, claim=claim, to="rejected", note="277CA")
    Encounter.objects.filter(pk=claim.encounter_id).update(status="ready")
    ServiceLine.objects.filter(encounter_id=claim.encounter_id).update(charge_cents=12_000)
    rebuilt = claims_services.claim_build(actor=biller, encounter=claim.encounter)
    claims_services.claim_set_status(actor=biller, claim=rebuilt, to="ready", note="scrubbed")
    _send(rebuilt, biller, exchange)
    result = claim_status.apply_277(status_277([(claim, "A7:21")], charge="100"), biller)
    assert _statuses(claim) == ["submitted"]
    assert [o.result for o in result.matched] == ["stale"]
    stale = ClaimEvent.objects.filter(claim=claim).latest("id")
    assert stale.note.startswith(f"277 stale, not applied: it answers the earlier submission in "
                                 f"batch {first.file_name}")  # fmt: skip
    assert stale.details["answers_batch"] == first.pk
    claim_status.apply_277(status_277([(claim, "A7:21")], charge="120"), biller)
    assert _statuses(claim) == ["rejected"]


@pytest.mark.django_db
def test_a_999_answering_sets_the_batch_does_not_have_changes_nothing(users, exchange):
    """AK2*837*9999 against a batch of ST 0001: the group's rejection (AK9*R) is not guessed
    onto claims the 999 never names; the set is listed as not found, with a warning."""
    claims = [make_claim(lines=1, status=ClaimStatus.READY) for _ in range(2)]
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = ack_999(submitter=exchange.submitter_id, group=_group_of(batch), st02=9999,
                      code="R")  # fmt: skip
    result = acks.apply_999(content, actor=users["biller"])
    assert _statuses(*claims) == ["batched", "batched"]
    assert [(o.reference, o.result) for o in result.unmatched] == [
        ("transaction set 9999", "not found")
    ]
    assert any("answers none of batch" in w and "nothing was applied" in w
               for w in result.warnings)  # fmt: skip
    assert not ClaimEvent.objects.filter(claim__in=claims, to_status="rejected").exists()


@pytest.mark.django_db
def test_an_accepted_void_voids_its_claim_and_an_accepted_replacement_is_noted(users, exchange):
    from medoffice.claims import claims_services
    from medoffice.claims.scrubber import scrub_one

    biller = users["biller"]
    voided = make_claim(lines=1, status=ClaimStatus.ACCEPTED, payer_claim_number="PAYER-1")
    replaced = make_claim(lines=1, status=ClaimStatus.ACCEPTED, payer_claim_number="PAYER-2")
    void = claims_services.claim_void(actor=biller, claim=voided, reason="billed in error")
    type(replaced.encounter).objects.filter(pk=replaced.encounter_id).update(status="ready")
    replacement = claims_services.claim_replace(actor=biller, claim=replaced, reason="units")
    for made in (void, replacement):
        assert scrub_one(actor=biller, claim=made).status == ClaimStatus.READY
    batch = batches.batch_build(actor=biller, exchange=exchange)
    acks.apply_999(ack_999(submitter=exchange.submitter_id, group=_group_of(batch)),
                   actor=biller)  # fmt: skip
    assert _statuses(void, replacement, voided, replaced) == [
        "accepted", "accepted", "void", "accepted"
    ]  # fmt: skip
    event = ClaimEvent.objects.filter(claim=voided).order_by("-id").first()
    assert (event.from_status, event.to_status, event.actor) == ("accepted", "void", biller)
    assert event.note == f"Voided: the payer accepted void claim {void.control_number}."
    note = ClaimEvent.objects.filter(claim=replaced).order_by("-id").first()
    assert note.note == f"Replaced by claim {replacement.control_number}, which the payer accepted."
    assert (note.from_status, note.to_status) == ("accepted", "accepted")
    from django.test import Client

    client = Client()
    client.force_login(biller)
    page = client.get(reverse("claims:claim_detail", args=[voided.pk])).content.decode()
    assert 'id="void-help"' in page and "This claim is void." in page


@pytest.mark.django_db
def test_a_277ca_to_another_submitter_does_not_answer_a_batch_of_the_same_number(users, exchange):
    """Control numbers restart per submitter id: a claim first sent as submitter OLD in its
    interchange 1, rejected, then sent again as the practice's submitter in its interchange 1.
    A late 277CA addressed to OLD (ISA08) for BHT03 1 is the first submission's: stale."""
    from dataclasses import replace as copy

    biller = users["biller"]
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    first = _send(claim, biller, copy(exchange, submitter_id="OLD"))
    acks.apply_277ca(ack_277ca([(claim, "A7:562:85", [])], receiver="OLD",
                               batch_trace=f"{first.interchange_control_number:09d}",
                               charge="100.00"), actor=biller)  # fmt: skip
    assert _statuses(claim) == ["rejected"]
    assert scrub_one_ready(claim, biller)
    second = _send(claim, biller, exchange)
    assert second.interchange_control_number == first.interchange_control_number
    late = ack_277ca(
        [(claim, "A7:21:85", [])],
        receiver="OLD",
        batch_trace=f"{first.interchange_control_number:09d}",
        charge="100.00",
    )
    result = acks.apply_277ca(late, actor=biller)
    assert _statuses(claim) == ["submitted"]
    assert [o.result for o in result.matched] == ["stale"]
    current = ack_277ca(
        [(claim, "A2:20", [])],
        receiver=exchange.submitter_id,
        batch_trace=f"{second.interchange_control_number:09d}",
        charge="100.00",
    )
    acks.apply_277ca(current, actor=biller)
    assert _statuses(claim) == ["accepted"]


def scrub_one_ready(claim: Claim, biller) -> bool:
    from medoffice.claims.scrubber import scrub_one

    claim.refresh_from_db()
    return scrub_one(actor=biller, claim=claim).status == ClaimStatus.READY
