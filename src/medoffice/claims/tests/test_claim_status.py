"""Claim status: which claims are asked about after N days, the 276 written for them reads
back, and a 277 (from the corpus, and written with the library) moves claims and lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from medoffice.claims import claim_status
from medoffice.claims.batches import Exchange
from medoffice.claims.models import AppliedFile, Claim, ClaimEvent, ClaimStatus
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.testing import patients_factories as pf
from medoffice.testing.claim_builders import make_claim
from medoffice.x12 import read
from medoffice.x12.tests.test_corpus import CORPUS
from medoffice.x12.tests.test_professional_claim_writer import _pyx12_errors
from medoffice.x12.transactions.claim_status import ClaimStatusTransaction
from medoffice.x12.writer import Group, Interchange, Segment, TransactionSet, write

needs_corpus = pytest.mark.skipif(CORPUS is None, reason="the shared X12 corpus is not here")
EXCHANGE = Exchange("1497758544", "MEDOFFICE CLINIC", "BILLING", "2175550100", "RCV01", "RCV01")


def sent(days_ago: int, status: str = ClaimStatus.SUBMITTED, **fields) -> Claim:
    claim = make_claim(lines=fields.pop("lines", 1), status=status, **fields)
    Claim.objects.filter(pk=claim.pk).update(
        submitted_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return claim


@pytest.mark.django_db
def test_the_claims_without_an_answer_after_n_days(practice):
    old = sent(40)
    accepted = sent(35, ClaimStatus.ACCEPTED)
    sent(10)  # too recent
    sent(40, ClaimStatus.PAID)  # answered
    sent(40, ClaimStatus.REJECTED)  # answered
    asked = sent(40)
    ClaimEvent.objects.create(claim=asked, from_status="submitted", to_status="submitted",
                              details={"kind": "277"})  # fmt: skip
    assert list(claim_status.claims_needing_status(days=30)) == [old, accepted]
    assert len(claim_status.claims_needing_status(days=5)) == 3  # and the recent one
    with pytest.raises(InvalidInput):
        claim_status.claims_needing_status(days=0)


def _request(content: bytes) -> ClaimStatusTransaction:
    (transaction,) = list(read(content, strict=True).transactions())
    assert transaction.kind == "276" and transaction.warnings == []
    assert isinstance(transaction.data, ClaimStatusTransaction)
    return transaction.data


@pytest.mark.django_db
def test_a_276_reads_back_with_its_claims_and_lines(practice, users):
    own = sent(40, lines=2, payer_claim_number="PAYER-1")
    child = pf.patient(first_name="Sam", last_name="Doe", date_of_birth=dt.date(2015, 6, 1))
    coverage = pf.coverage(
        patient=child, subscriber_relationship="child", subscriber_first_name="Jane",
        subscriber_last_name="Doe", member_id="XYZ1", payer=own.payer,
    )  # fmt: skip
    dependent = sent(40, coverage=coverage)
    content = claim_status.claim_status_request(
        claim_status.claims_needing_status(days=30), actor=users["biller"], exchange=EXCHANGE
    )
    data = _request(content)
    asked = {c.patient_control_number: c for c in data.claims()}
    assert sorted(asked) == sorted([own.control_number, dependent.control_number])
    first = asked[own.control_number]
    assert first.payer_claim_number == "PAYER-1" and first.trace_number == own.control_number
    assert first.charge == Decimal("200.01")
    day = own.encounter.date_of_service
    assert first.service_period == (day, day)
    assert first.subscriber is not None and first.subscriber.identifier == "XYZ123456"
    assert [line.line_item_control_number for line in first.service_lines] == [
        str(line.pk) for line in own.lines.order_by("line_number")
    ]
    assert first.payer is not None and first.payer.identifier == own.payer.payer_id
    assert first.provider is not None and first.provider.identifier == practice.group_npi
    second = asked[dependent.control_number]
    assert second.patient is not None and second.patient.first_name == "SAM"
    assert second.subscriber is not None and second.subscriber.identifier == "XYZ1"


@pytest.mark.django_db
def test_pyx12_validates_the_276_where_it_has_the_map(practice, tmp_path):
    pyx12 = pytest.importorskip("pyx12")
    maps = (Path(pyx12.__file__).parent / "map" / "maps.xml").read_text()
    if 'vriic="005010X212"' not in maps:
        pytest.skip("pyx12 4.0.0 maps only the 4010 276 (X093A1), not 005010X212")
    content = claim_status.claim_status_request([sent(40)], exchange=EXCHANGE)
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid


@pytest.mark.django_db
def test_asking_needs_claims_and_the_permission(practice, users):
    with pytest.raises(InvalidInput, match="No claim"):
        claim_status.claim_status_request([], exchange=EXCHANGE)
    with pytest.raises(NotPermitted):
        claim_status.claim_status_request([sent(40)], actor=users["front_desk"], exchange=EXCHANGE)


# --- the 277 ---------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.django_db
def test_a_corpus_277_moves_the_claims_it_answers(users):
    # SM123456 pending (P3), J0234567 finalized (F0), MA345678 denied (F2) with its line
    pending = sent(40, control_number="SM123456")
    finalized = sent(40, ClaimStatus.ACCEPTED, control_number="J0234567")
    denied = sent(40, control_number="MA345678")
    Claim.objects.filter(pk=denied.pk).update(total_charge_cents=15000)
    denied.lines.update(code="99203")
    assert CORPUS is not None
    result = claim_status.apply_277((CORPUS / "277/LinuxForHealth__x12__demo.277").read_bytes(),
                                    users["biller"])  # fmt: skip
    for claim in (pending, finalized, denied):
        claim.refresh_from_db()
    assert (pending.status, pending.payer_claim_number) == ("accepted", "05347006051")
    assert (finalized.status, finalized.payer_claim_number) == ("accepted", "0529675341")
    assert denied.status == "denied" and [line.status for line in denied.lines.all()] == ["denied"]
    note = ClaimEvent.objects.get(claim=denied, to_status="denied").note
    assert note.startswith("277: Finalized/Denial")
    assert ClaimEvent.objects.get(claim=finalized, details__kind="277").to_status == "accepted"
    assert [o.result for o in result.matched] == ["accepted", "reported", "denied", "denied"]
    assert result.unmatched == []


def status_277(entries: list[tuple[Claim, str]], *, charge: str = "100") -> bytes:
    body: list[Segment] = [
        ("BHT", "0010", "08", "R1", "20261203", "1000", "DG"),
        ("HL", "1", None, "20", "1"), ("NM1", "PR", "2", "ACME", None, None, None, None, "PI", "1"),
        ("HL", "2", "1", "21", "1"), ("NM1", "41", "2", "CLINIC", None, None, None, None, "46",
                                       "S1"),
        ("HL", "3", "2", "19", "1"), ("NM1", "1P", "2", "CLINIC", None, None, None, None, "XX",
                                       "1497758544"),
    ]  # fmt: skip
    for number, (claim, status) in enumerate(entries, start=4):
        body += [
            ("HL", str(number), "3", "22", "0"),
            ("NM1", "IL", "1", "DOE", "JANE", None, None, None, "MI", "XYZ123456"),
            ("TRN", "2", claim.control_number),
            ("STC", tuple(status.split(":")), "20261203", None, charge),
            ("REF", "EJ", claim.control_number),
        ]
    return write(
        [Interchange("RCV01", "S1", 7, dt.datetime(2026, 12, 3, 10, 0),
                     [Group("HN", "RCV01", "S1", 7, "005010X212",
                            [TransactionSet("277", 1, "005010X212", body)])])]
    )  # fmt: skip


@pytest.mark.django_db
def test_a_written_277_rejects_once_and_malformed_writes_nothing(users):
    rejected = sent(40)
    unknown = make_claim(lines=1)
    content = status_277([(rejected, "A7:21"), (unknown, "A2:20")])
    Claim.objects.filter(pk=unknown.pk).update(control_number="GONE")
    result = claim_status.apply_277(content, users["biller"])
    rejected.refresh_from_db()
    assert rejected.status == "rejected"
    assert [o.reference for o in result.unmatched] == [unknown.control_number]
    events = ClaimEvent.objects.count()
    assert claim_status.apply_277(content, users["biller"]).already_applied
    broken = content.replace(b"STC*A7:21", b"STC*A7")
    with pytest.raises(InvalidInput, match=r"segment \d+ \(STC\)"):
        claim_status.apply_277(broken, users["biller"])
    with pytest.raises(NotPermitted):
        claim_status.apply_277(status_277([(rejected, "A2:20")]), users["front_desk"])
    assert ClaimEvent.objects.count() == events and AppliedFile.objects.count() == 1


# --- Sending the 276 --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_276_goes_to_the_clearinghouse_once_and_the_claims_say_they_were_asked(
    practice, users, tmp_path
):
    from medoffice.claims.tests.mailbox_support import folder_clearinghouse

    house = folder_clearinghouse(tmp_path / "portal", users["manager"], submitter_id="RIVER01",
                                 receiver_id="PORTAL01")  # fmt: skip
    waiting, other = sent(40), sent(45, ClaimStatus.ACCEPTED)
    sent(3)  # too recent to ask about
    asked = claim_status.claim_status_send(actor=users["biller"], clearinghouse=house, days=30,
                                           idempotency_key="ask-1")  # fmt: skip
    assert asked.claim_count == 2 and not asked.replayed
    (written,) = (tmp_path / "portal" / "out").iterdir()
    assert written.name == asked.submission.name and written.name.startswith("276-RIVER01-")
    inquiry = _request(written.read_bytes())
    assert sorted(c.patient_control_number for c in inquiry.claims()) == sorted(
        [waiting.control_number, other.control_number]
    )
    note = ClaimEvent.objects.filter(claim=waiting, details__kind="276").get()
    assert note.actor == users["biller"] and written.name in note.note
    # The same key again: the first 276, nothing sent; a new key: nobody left to ask yet.
    again = claim_status.claim_status_send(actor=users["biller"], clearinghouse=house, days=30,
                                           idempotency_key="ask-1")  # fmt: skip
    assert again.replayed and again.submission.pk == asked.submission.pk and again.claim_count == 2
    with pytest.raises(InvalidInput, match="No claim has waited 30 day"):
        claim_status.claim_status_send(actor=users["biller"], clearinghouse=house, days=30,
                                       idempotency_key="ask-2")  # fmt: skip
    assert len(list((tmp_path / "portal" / "out").iterdir())) == 1
    with pytest.raises(NotPermitted):
        claim_status.claim_status_send(actor=users["front_desk"], clearinghouse=house)


@pytest.mark.django_db
def test_the_status_page_lists_the_waiting_claims_and_asks_about_them(
    practice, users, client_for, tmp_path
):
    from medoffice.claims.mailbox_tasks import ask_claim_status
    from medoffice.claims.tests.mailbox_support import folder_clearinghouse

    house = folder_clearinghouse(tmp_path / "portal", users["manager"])
    waiting = sent(40)
    page = client_for("biller")
    html = page.get("/claims/status-requests/").content.decode()
    assert "1 claim waiting" in html and waiting.control_number in html
    assert client_for("front_desk").get("/claims/status-requests/").status_code == 403
    bad = page.get("/claims/status-requests/?days=-3")
    assert bad.status_code == 422 and "a whole number from 1 to 3650" in bad.content.decode()
    form = {"days": "30", "clearinghouse": str(house.pk), "idempotency_key": "page-1"}
    answer = page.post("/claims/status-requests/", form, follow=True)
    assert "1 claim(s) asked about, sent to Portal uploads" in answer.content.decode()
    assert page.post("/claims/status-requests/", form).status_code == 302  # a double click
    assert len(list((tmp_path / "portal" / "out").iterdir())) == 1
    assert "0 claims waiting" in page.get("/claims/status-requests/").content.decode()
    # The daily job asks about a claim that has waited since; run again the same day, it
    # returns that day's 276 and sends nothing more.
    later = sent(50)
    assert ask_claim_status.call() == {"claims": 1, "sent": 1}
    assert ask_claim_status.call() == {"claims": 1, "sent": 1}
    assert len(list((tmp_path / "portal" / "out").iterdir())) == 2
    assert ClaimEvent.objects.filter(claim=later, details__kind="276").count() == 1


@pytest.mark.django_db
def test_a_276_writes_accented_and_starred_names_in_plain_letters(practice, users):
    claim = sent(40)
    type(claim.encounter.patient).objects.filter(pk=claim.encounter.patient_id).update(
        first_name="Lucía", last_name="García*López~"
    )
    content = claim_status.claim_status_request([claim], actor=users["biller"], exchange=EXCHANGE)
    assert b"GARCIA LOPEZ*LUCIA" in content
    assert _request(content).claims()[0].patient_control_number == claim.control_number


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_276_asked_for_many_times_at_once_with_one_key_goes_once(tmp_path):
    from django.conf import settings

    from medoffice.claims.tests.mailbox_support import folder_clearinghouse
    from medoffice.testing import factories
    from medoffice.testing.races import at_once

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("the race needs PostgreSQL (set DATABASE_URL)")
    factories.practice()
    biller = factories.user("biller")
    house = folder_clearinghouse(tmp_path / "portal", factories.user("manager"))
    sent(40)

    def attempt(_n: int) -> str:
        asked = claim_status.claim_status_send(actor=biller, clearinghouse=house,
                                               idempotency_key="double-click")  # fmt: skip
        return asked.submission.name

    outcomes = at_once(8, attempt)
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("276-"), outcomes
    assert len(list((tmp_path / "portal" / "out").iterdir())) == 1
