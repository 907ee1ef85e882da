"""837P batches from the database: pyx12 finds no error, the reader reads back what was
billed, each claim goes into one batch only, and a repeated request makes no second file."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections

from medoffice import cli
from medoffice.claims import batches
from medoffice.claims.models import Claim, ClaimBatch, ClaimEvent, ClaimStatus, FrequencyCode
from medoffice.claims.tests.mailbox_support import sftp_clearinghouse
from medoffice.core.exceptions import Conflict, InvalidInput, NotPermitted
from medoffice.core.models import Practice
from medoffice.patients.models import Patient
from medoffice.testing import patients_factories
from medoffice.testing.claim_builders import make_claim
from medoffice.testing.ops import one_line
from medoffice.x12 import read
from medoffice.x12.tests.test_professional_claim_writer import _pyx12_errors


def parent_coverage(child):
    return patients_factories.coverage(
        patient=child, subscriber_relationship="child", subscriber_first_name="Jane",
        subscriber_last_name="Doe", subscriber_date_of_birth=date(1980, 1, 2),
        subscriber_sex="F", member_id="XYZ123456",
    )  # fmt: skip


def ready_claims() -> list[Claim]:
    own = make_claim(lines=2, status=ClaimStatus.READY)
    child = patients_factories.patient(
        first_name="Sam", last_name="Doe", date_of_birth=date(2015, 6, 1), sex="M",
        address_line1="12 Elm St", city="Springfield", state="IL", zip_code="62704",
    )  # fmt: skip
    dependent = make_claim(
        lines=1,
        status=ClaimStatus.READY,
        coverage=patients_factories.coverage(
            patient=child,
            subscriber_relationship="child",
            subscriber_first_name="Jane",
            subscriber_last_name="Doe",
            subscriber_date_of_birth=date(1980, 1, 2),
            subscriber_sex="F",
            member_id="XYZ123456",
        ),
    )
    original = make_claim(lines=1, status=ClaimStatus.ACCEPTED, payer_claim_number="PAYER-778")
    replacement = make_claim(
        lines=1,
        coverage=original.coverage,
        status=ClaimStatus.READY,
        frequency_code=FrequencyCode.REPLACEMENT,
        replaces=original,
    )
    return [own, dependent, replacement]


@pytest.fixture
def exchange(practice):
    Practice.objects.update(phone="+12175550100")
    return batches.practice_exchange(receiver_id="RCV01", usage="T")


@pytest.mark.django_db
def test_a_batch_of_ready_claims_passes_pyx12_and_reads_back(users, exchange, tmp_path):
    claims = ready_claims()
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = bytes(batch.content)
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid
    (transaction,) = read(content).transactions()
    billed = {claim.claim_id: claim for claim in transaction.data.claims()}
    assert sorted(billed) == sorted(claim.control_number for claim in claims)
    replacement = billed[claims[2].control_number]
    assert replacement.frequency_code == "7"
    assert ("F8", "PAYER-778") in replacement.references
    assert replacement.charge == Decimal("100.00")
    assert batch.claim_count == 3
    assert batch.total_charge_cents == sum(c.total_charge_cents for c in claims)
    assert (
        batch.file_name
        == f"837P-{exchange.submitter_id}-{batch.interchange_control_number:09d}.x12"
    )
    assert set(Claim.objects.filter(batch=batch).values_list("status", flat=True)) == {"batched"}
    assert ClaimEvent.objects.filter(to_status="batched").count() == 3


@pytest.mark.django_db
def test_the_same_key_returns_the_first_batch_and_nothing_is_batched_twice(users, exchange):
    ready_claims()
    first = batches.batch_build(actor=users["biller"], exchange=exchange, idempotency_key="k1")
    again = batches.batch_build(actor=users["biller"], exchange=exchange, idempotency_key="k1")
    assert again.pk == first.pk and ClaimBatch.objects.count() == 1
    with pytest.raises(InvalidInput, match="No claim is ready"):
        batches.batch_build(actor=users["biller"], exchange=exchange, idempotency_key="k2")


@pytest.mark.django_db
def test_claims_not_ready_are_named_and_nothing_is_written(users, exchange):
    draft = make_claim(lines=1)
    with pytest.raises(InvalidInput, match=f"claim {draft.pk}"):
        batches.batch_build(actor=users["biller"], exchange=exchange, claim_ids=[draft.pk])
    assert ClaimBatch.objects.count() == 0


@pytest.mark.django_db
def test_a_claim_that_no_longer_passes_the_scrubber_stays_out_of_the_batch(users, exchange):
    ended, fine = (
        make_claim(lines=1, status=ClaimStatus.READY),
        make_claim(lines=1, status=ClaimStatus.READY),
    )
    # Found ready, then the coverage was ended before the date of service.
    type(ended.coverage).objects.filter(pk=ended.coverage_id).update(
        end_date=ended.encounter.date_of_service - timedelta(days=30)
    )
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    assert list(Claim.objects.filter(batch=batch).values_list("pk", flat=True)) == [fine.pk]
    ended.refresh_from_db()
    assert ended.status == ClaimStatus.SCRUB_ERRORS and ended.batch_id is None
    assert ended.findings.filter(code="coverage_not_active").exists()
    # Named (as if still ready), it is refused in words and back on the worklist.
    Claim.objects.filter(pk=ended.pk).update(status=ClaimStatus.READY)
    with pytest.raises(InvalidInput, match="no longer pass the scrubber"):
        batches.batch_build(actor=users["biller"], exchange=exchange, claim_ids=[ended.pk])
    assert Claim.objects.get(pk=ended.pk).status == ClaimStatus.SCRUB_ERRORS


@pytest.mark.django_db
def test_batching_needs_the_submit_permission(users, exchange):
    ready_claims()
    with pytest.raises(NotPermitted):
        batches.batch_build(actor=users["front_desk"], exchange=exchange)
    assert ClaimBatch.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_billers_batching_at_once_split_the_claims(practice, users, exchange):
    for _ in range(6):
        make_claim(lines=1, status=ClaimStatus.READY)
    made: list[ClaimBatch] = []
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def work(role: str) -> None:
        try:
            start.wait()
            made.append(batches.batch_build(actor=users[role], exchange=exchange))
        except (InvalidInput, Conflict) as exc:
            errors.append(exc)  # the other took every claim first: acceptable
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=work, args=(role,)) for role in ("biller", "manager")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(error, InvalidInput | Conflict) for error in errors), errors
    counted = sum(batch.claim_count for batch in made)
    assert counted == 6
    assert Claim.objects.filter(status=ClaimStatus.BATCHED).count() == 6
    numbers = [batch.interchange_control_number for batch in made]
    assert len(set(numbers)) == len(numbers)


@pytest.mark.django_db
def test_a_submitted_batch_arrives_whole_and_its_claims_are_submitted(users, sftp_server, tmp_path):
    Practice.objects.update(phone="+12175550100")
    house = sftp_clearinghouse(sftp_server, users["manager"])
    ready_claims()
    exchange = batches.clearinghouse_exchange(house)
    assert (exchange.submitter_id, exchange.receiver_id) == ("RIVERSIDE01", "AVAILITY")
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    submission = batches.batch_submit(actor=users["biller"], batch=batch, clearinghouse=house)
    assert submission.status == "sent"
    arrived = sftp_server.root / "outbound" / batch.file_name
    assert arrived.read_bytes() == bytes(batch.content)
    assert read(arrived.read_bytes()).interchanges[0].sender_id.strip() == "RIVERSIDE01"
    assert set(Claim.objects.filter(batch=batch).values_list("status", flat=True)) == {"submitted"}
    again = batches.batch_submit(actor=users["biller"], batch=batch, clearinghouse=house)
    assert again.pk == submission.pk
    assert ClaimEvent.objects.filter(to_status="submitted").count() == 3


@pytest.mark.django_db
def test_a_failed_send_leaves_the_claims_batched(users, sftp_server, tmp_path):
    Practice.objects.update(phone="+12175550100")
    house = sftp_clearinghouse(sftp_server, users["manager"], outbound_path="/missing")
    ready_claims()
    batch = batches.batch_build(
        actor=users["biller"], exchange=batches.clearinghouse_exchange(house)
    )
    submission = batches.batch_submit(actor=users["biller"], batch=batch, clearinghouse=house)
    assert submission.status == "failed" and "missing" in submission.error
    assert set(Claim.objects.filter(batch=batch).values_list("status", flat=True)) == {"batched"}


@pytest.mark.django_db
def test_the_batch_command_writes_the_file_and_can_send_it(users, sftp_server, tmp_path, capsys):
    Practice.objects.update(phone="+12175550100")
    house = sftp_clearinghouse(sftp_server, users["manager"])
    ready_claims()
    out = tmp_path / "out"
    out.mkdir()
    assert cli.main(["claims", "batch", "--out", str(out)]) == 1
    assert "--as USERNAME" in one_line(capsys.readouterr().err)
    biller = users["biller"].username
    assert cli.main(["claims", "batch", "--out", str(tmp_path / "nope"), "--as", biller]) == 1
    assert "is not a folder" in one_line(capsys.readouterr().err)
    assert cli.main(["claims", "batch", "--out", str(out), "--submit", "--as", biller]) == 0
    printed = capsys.readouterr().out
    (written,) = out.iterdir()
    assert f"{written}: 3 claim(s)" in printed and f"sent to {house.name}" in printed
    assert (sftp_server.root / "outbound" / written.name).read_bytes() == written.read_bytes()
    assert cli.main(["claims", "batch", "--out", str(out), "--as", biller]) == 1
    assert "No claim is ready to batch" in one_line(capsys.readouterr().err)


@pytest.mark.django_db
def test_accented_names_are_written_in_plain_letters(users, exchange, tmp_path):
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    Patient.objects.filter(pk=claim.encounter.patient_id).update(
        last_name="Peña", first_name="Zoë", city="Coeur d\u2019Alène"
    )
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = bytes(batch.content)
    assert b"NM1*IL*1*PENA*ZOE" in content and b"N4*COEUR DALENE*IL" in content
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid


@pytest.mark.django_db
def test_x12_delimiters_in_names_and_addresses_do_not_hold_back_the_batch(
    users, exchange, tmp_path
):
    """One patient typed with the file's delimiters in the name, address and city goes out
    with spaces for them; the other claims go in the same batch, and pyx12 accepts it."""
    claims = ready_claims()
    odd = make_claim(lines=1, status=ClaimStatus.READY)
    Patient.objects.filter(pk=odd.encounter.patient_id).update(
        last_name="Stew*art~", first_name="Ann:Marie", address_line1="12^Elm  St*",
        city="Spring\tfield~",
    )  # fmt: skip
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    content = bytes(batch.content)
    assert b"NM1*IL*1*STEW ART*ANN MARIE" in content
    assert b"N3*12 ELM ST~" in content and b"N4*SPRING FIELD*" in content
    assert batch.claim_count == 4
    assert Claim.objects.filter(batch=batch).count() == len(claims) + 1
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid


@pytest.mark.parametrize(("typed", "plain"), [
    ("Stew*art~", "Stew art"),
    ("a:b^c", "a b c"),
    ("  two\n lines\t", "two lines"),
    ("bell\x07 and del\x7f", "bell and del"),
    ("Peña", "Pena"),
    ("", ""),
])  # fmt: skip
def test_x12_text_is_printable_ascii_without_delimiters(typed, plain):
    assert batches.x12_text(typed) == plain


@pytest.mark.parametrize(("typed", "last", "first"), [
    ("Smith, John", "Smith", "John"),
    ("Smith, John Q", "Smith", "John Q"),
    ("Smith, John, MD", "Smith", "John"),
    ("Smith Jr, John", "Smith", "John"),
    ("John Smith", "Smith", "John"),
    ("John Q. Smith", "Smith", "John Q."),
    ("John Smith, MD", "Smith", "John"),
    ("John Smith MD", "Smith", "John"),
    ("Dr. John Smith, M.D.", "Smith", "John"),
    ("Jane Doe, PA-C", "Doe", "Jane"),
    ("Jane Doe, Ph.D.", "Doe", "Jane"),
    ("John Smith III, DO", "Smith", "John"),
    ("John Smith, Jr., MD", "Smith", "John"),
    ("Anh Do", "Do", "Anh"),  # a surname that is also a credential stays a surname
    ("Do, Anh", "Do", "Anh"),
    ("Van Buren, Martin", "Van Buren", "Martin"),
    ("Smith", "Smith", ""),
    ("  ", "", ""),
])  # fmt: skip
def test_a_referring_providers_name_is_split_into_last_and_first(typed, last, first):
    assert batches._split_name(typed) == (last, first)


@pytest.mark.django_db
def test_the_referring_provider_goes_out_last_name_first(users, exchange):
    from medoffice.claims.models import Encounter
    from medoffice.testing.factories import make_npi

    claim = make_claim(lines=1, status=ClaimStatus.READY)
    Encounter.objects.filter(pk=claim.encounter_id).update(
        referring_provider_name="Smith, John", referring_provider_npi=make_npi(4242)
    )
    batch = batches.batch_build(actor=users["biller"], exchange=exchange)
    assert b"NM1*DN*1*SMITH*JOHN*" in bytes(batch.content)


def _written(claim, exchange) -> bytes:
    from django.utils import timezone

    return batches.write_837p(
        Claim.objects.filter(pk=claim.pk), exchange, interchange_number=7, group_number=7,
        created=timezone.localtime(), reference="7",
    )  # fmt: skip


@pytest.mark.django_db
def test_the_pay_to_address_goes_out_only_when_it_is_not_the_billing_address(
    users, exchange, tmp_path
):
    claim = make_claim(lines=1, status=ClaimStatus.READY)
    assert b"NM1*87" not in _written(claim, exchange)  # none on file
    practice = Practice.objects.get()
    Practice.objects.update(
        pay_to_address_line1=practice.address_line1.lower(), pay_to_address_line2="",
        pay_to_city=practice.city, pay_to_state=practice.state, pay_to_zip_code=practice.zip_code,
        address_line2="",
    )  # fmt: skip
    assert b"NM1*87" not in _written(claim, exchange)  # the billing address again
    Practice.objects.update(
        pay_to_address_line1="PO Box 77", pay_to_address_line2="Lockbox 3",
        pay_to_city="Chicago", pay_to_state="IL", pay_to_zip_code="60601-0077",
    )  # fmt: skip
    content = _written(claim, exchange)
    assert b"~NM1*87*2~N3*PO BOX 77*LOCKBOX 3~N4*CHICAGO*IL*606010077~" in content
    assert content.index(b"NM1*87") < content.index(b"HL*2*1*22")  # in 2000A, before 2000B
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid
    (transaction,) = read(content).transactions()
    (billing,) = transaction.data.billing_providers
    assert billing.pay_to.address.lines == ["PO BOX 77", "LOCKBOX 3"]
    assert (billing.pay_to.address.city, billing.pay_to.address.postal_code) == (
        "CHICAGO", "606010077")  # fmt: skip


@pytest.mark.django_db
def test_supervising_provider_drug_and_prior_authorization_go_out_from_the_database(
    users, exchange, tmp_path
):
    from medoffice.claims.models import Encounter
    from medoffice.testing import factories

    claim = make_claim(lines=2, status=ClaimStatus.READY)
    supervisor = factories.provider(first_name="Mia", last_name="Chen")
    Encounter.objects.filter(pk=claim.encounter_id).update(supervising_provider=supervisor)
    content = _written(claim, exchange)
    assert f"~NM1*DQ*1*CHEN*MIA****XX*{supervisor.npi}~".encode() in content
    assert b"~LIN**N4*00409488201~CTP****1.5*ML~" in content  # the J3420 line's drug
    assert b"~REF*G1*PA998~" in content
    valid, problems, _ack = _pyx12_errors(content, tmp_path)
    assert problems == [] and valid


def test_a_rejected_claim_scrubbed_again_goes_in_the_next_batch(users, exchange):
    """The claim page tells the biller to correct a rejected claim's patient or coverage and
    scrub it again: scrubbed clean, it leaves the batch that carried it and is batched anew."""
    from medoffice.claims import claims_services
    from medoffice.claims.scrubber import scrub_one

    claim = make_claim(lines=1, status=ClaimStatus.READY)
    first = batches.batch_build(actor=users["biller"], exchange=exchange)
    claim.refresh_from_db()
    claims_services.claim_set_status(actor=users["biller"], claim=claim, to="rejected",
                                     note="277CA: A7 patient's address")  # fmt: skip
    claim.refresh_from_db()
    assert (claim.status, claim.batch_id) == (ClaimStatus.REJECTED, first.pk)
    result = scrub_one(actor=users["biller"], claim=claim)
    assert result.status == ClaimStatus.READY and result.findings == []
    claim.refresh_from_db()
    assert (claim.status, claim.batch_id, claim.submitted_at) == (ClaimStatus.READY, None, None)
    event = claim.events.order_by("-id").first()
    assert (event.from_status, event.to_status) == ("rejected", "ready")
    assert "Sent again in a new batch" in event.note
    again = batches.batch_build(actor=users["biller"], exchange=exchange)
    assert again.pk != first.pk and list(again.claims.values_list("pk", flat=True)) == [claim.pk]
    (transaction,) = read(bytes(again.content)).transactions()
    assert [c.claim_id for c in transaction.data.claims()] == [claim.control_number]
