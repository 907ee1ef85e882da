"""The mailbox's rules against a real SFTP server on 127.0.0.1 and real folders: what is sent
arrives byte for byte and only once; each answer is filed once, whatever runs again."""

from __future__ import annotations

import hashlib
import socket

import asyncssh
import pytest
from django.db import connection

from medoffice.claims import mailbox_services as services
from medoffice.claims.models import (
    Clearinghouse,
    MailboxReceipt,
    MailboxSubmission,
    ReceiptKind,
)
from medoffice.claims.tests.mailbox_support import (
    answer,
    folder_clearinghouse,
    needs_corpus,
    sftp_clearinghouse,
)
from medoffice.core.exceptions import Conflict, InvalidInput, NotPermitted
from medoffice.core.models import AuditEvent

pytestmark = pytest.mark.django_db
BATCH = b"ISA*00*          *00*          *ZZ*RIVERSIDE01    *ZZ*AVAILITY       *~" * 40


@pytest.fixture
def manager(users):
    return users["manager"]


@pytest.fixture
def biller(users):
    return users["biller"]


def outbound(server) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (server.root / "outbound").iterdir()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Submitting -----------------------------------------------------------------------------


def test_submit_round_trip_the_same_bytes_arrive(sftp_server, manager, biller):
    house = sftp_clearinghouse(sftp_server, manager)
    submission = services.submit_file(
        actor=biller, clearinghouse=house, name="batch-0001.837", content=BATCH
    )
    assert submission.status == "sent" and submission.sent_at is not None
    assert submission.sha256 == hashlib.sha256(BATCH).hexdigest() and submission.size == len(BATCH)
    assert submission.sent_by == biller
    assert outbound(sftp_server) == {"batch-0001.837": BATCH}  # no temporary file left behind
    event = AuditEvent.objects.filter(
        object_type="claims.mailboxsubmission", object_id=str(submission.pk)
    ).last()
    assert event is not None and event.actor_name == biller.username


def test_a_private_key_works_instead_of_a_password(sftp_server, manager, biller):
    house = sftp_clearinghouse(
        sftp_server, manager, secret=sftp_server.client_key, secret_kind="private_key"
    )
    submission = services.submit_file(actor=biller, clearinghouse=house, name="k.837",
                                      content=BATCH)  # fmt: skip
    assert submission.status == "sent" and outbound(sftp_server) == {"k.837": BATCH}


def test_a_second_submit_of_the_name_returns_the_first_and_sends_nothing(
    sftp_server, manager, biller
):
    house = sftp_clearinghouse(sftp_server, manager)
    first = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=BATCH,
                                 idempotency_key="batch-7")  # fmt: skip
    # The clearinghouse picked the file up: were it sent again, it would reappear.
    (sftp_server.root / "outbound" / "b.837").unlink()
    again = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=BATCH)
    by_key = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=BATCH,
                                  idempotency_key="batch-7")  # fmt: skip
    assert again.pk == first.pk == by_key.pk and again.status == "sent"
    assert outbound(sftp_server) == {}
    assert MailboxSubmission.objects.count() == 1


def test_other_content_under_a_submitted_name_is_refused(sftp_server, manager, biller):
    house = sftp_clearinghouse(sftp_server, manager)
    services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=BATCH,
                         idempotency_key="k1")  # fmt: skip
    with pytest.raises(Conflict, match=r"different file was already submitted as b\.837"):
        services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=b"other")
    with pytest.raises(Conflict, match=r"idempotency key was used for b\.837"):
        services.submit_file(actor=biller, clearinghouse=house, name="c.837", content=BATCH,
                             idempotency_key="k1")  # fmt: skip
    assert outbound(sftp_server) == {"b.837": BATCH}
    assert MailboxSubmission.objects.count() == 1


def test_a_failure_is_recorded_in_words_and_a_retry_sends_once(sftp_server, manager, biller):
    house = sftp_clearinghouse(sftp_server, manager, port=free_port())
    failed = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=BATCH)
    assert failed.status == "failed" and "Could not connect to 127.0.0.1:" in failed.error
    assert failed.sent_at is None and outbound(sftp_server) == {}
    house = services.clearinghouse_save(
        actor=manager, clearinghouse=house, **_settings_of(house, port=sftp_server.port)
    )
    retried = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=BATCH)
    assert retried.pk == failed.pk and retried.status == "sent" and retried.attempts == 2
    assert retried.error == "" and outbound(sftp_server) == {"b.837": BATCH}


def test_a_wrong_host_key_refuses_before_anything_is_sent(sftp_server, manager, biller):
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    house = sftp_clearinghouse(sftp_server, manager, host_key=other)
    failed = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=BATCH)
    assert failed.status == "failed" and "Could not connect to 127.0.0.1:" in failed.error
    assert outbound(sftp_server) == {}


def test_bad_names_and_empty_files_are_refused_with_nothing_written(sftp_server, manager, biller):
    house = sftp_clearinghouse(sftp_server, manager)
    with pytest.raises(InvalidInput) as bad_name:
        services.submit_file(actor=biller, clearinghouse=house, name="../b.837", content=BATCH)
    assert bad_name.value.field == "name" and "not a file name" in bad_name.value.message
    with pytest.raises(InvalidInput, match="empty"):
        services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=b"")
    assert not MailboxSubmission.objects.exists() and outbound(sftp_server) == {}


def test_front_desk_may_neither_submit_nor_collect_nor_change_settings(sftp_server, manager, users):
    house = sftp_clearinghouse(sftp_server, manager)
    desk, biller = users["front_desk"], users["biller"]
    with pytest.raises(NotPermitted):
        services.submit_file(actor=desk, clearinghouse=house, name="b.837", content=BATCH)
    with pytest.raises(NotPermitted):
        services.collect(actor=desk, clearinghouse=house)
    with pytest.raises(NotPermitted):  # the biller submits but does not hold the keys
        services.clearinghouse_save(actor=biller, clearinghouse=house, **_settings_of(house))
    with pytest.raises(NotPermitted):
        services.test_connection(actor=desk, clearinghouse=house)
    assert not MailboxSubmission.objects.exists() and outbound(sftp_server) == {}


# --- Settings -------------------------------------------------------------------------------


def _settings_of(house: Clearinghouse, **changes):
    values = {
        name: getattr(house, name)
        for name in (
            "name", "transport", "host", "port", "username", "secret_kind", "host_key",
            "outbound_path", "inbound_path", "archive_path", "after_collect",
            "submitter_qualifier", "submitter_id", "receiver_qualifier", "receiver_id",
        )
    }  # fmt: skip
    values.update(changes)
    return values


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"host": ""}, "host", "host name"),
        ({"port": "70000"}, "port", "from 1 to 65535"),
        ({"port": "twenty-two"}, "port", "from 1 to 65535"),
        ({"username": ""}, "username", "user name"),
        ({"host_key": ""}, "host_key", "without it no connection is made"),
        ({"host_key": "ssh-ed25519 not-base64!"}, "host_key", "cannot be read"),
        ({"secret": ""}, "secret", "password or private key"),
        ({"secret": "-----BEGIN OPENSSH PRIVATE KEY-----\nxx", "secret_kind": "private_key"},
         "secret", "private key cannot be read"),
        ({"transport": "ftp"}, "transport", "SFTP server or a folder"),
        ({"inbound_path": "/outbound"}, "inbound_path", "must not be the outbound"),
        ({"after_collect": "archive", "archive_path": ""}, "archive_path", "archive folder"),
        ({"after_collect": "burn"}, "after_collect", "keep, archive or delete"),
        ({"submitter_id": "THIS-ID-IS-TOO-LONG"}, "submitter_id", "1 to 15"),
        ({"receiver_qualifier": "QQ"}, "receiver_qualifier", "ZZ"),
        ({"name": ""}, "name", "name"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_naming_the_field(sftp_server, manager, change, field, words):
    values = dict(
        name="Availity", transport="sftp", host=sftp_server.host, port=sftp_server.port,
        username="practice", secret="pw", host_key=sftp_server.host_key,
        outbound_path="/outbound", inbound_path="/inbound",
    )  # fmt: skip
    values.update(change)
    with pytest.raises(InvalidInput) as refused:
        services.clearinghouse_save(actor=manager, **values)
    assert field in refused.value.errors, refused.value.errors
    assert words in " ".join(refused.value.errors[field])
    assert not Clearinghouse.objects.exists()


def test_folder_settings_need_full_paths_and_a_unique_name(tmp_path, manager):
    with pytest.raises(InvalidInput) as refused:
        services.clearinghouse_save(actor=manager, name="Portal", transport="folder",
                                    outbound_path="out", inbound_path="in")  # fmt: skip
    assert set(refused.value.errors) == {"outbound_path", "inbound_path"}
    folder_clearinghouse(tmp_path, manager, name="Portal")
    with pytest.raises(InvalidInput, match="already named"):
        folder_clearinghouse(tmp_path, manager, name="portal")
    assert Clearinghouse.objects.count() == 1


def test_the_secret_is_encrypted_kept_when_left_blank_and_never_in_repr(sftp_server, manager):
    house = sftp_clearinghouse(
        sftp_server, manager,
        host_key=f"[127.0.0.1]:{sftp_server.port},localhost {sftp_server.host_key}",
    )  # fmt: skip
    assert house.host_key == " ".join(sftp_server.host_key.split()[:2])  # known_hosts line read
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM claims_clearinghouse WHERE id = %s", [house.pk])
        stored = cursor.fetchone()[0]
    assert sftp_server.password not in stored and stored.startswith("enc1:")
    assert sftp_server.password not in repr(house) + str(house)
    assert sftp_server.password not in repr(services.config_for(house))
    changes = AuditEvent.objects.filter(object_type="claims.clearinghouse")
    assert sftp_server.password not in " ".join(str(e.changes) for e in changes)
    services.clearinghouse_save(actor=manager, clearinghouse=house,
                                **_settings_of(house, secret="", username="practice"))  # fmt: skip
    house.refresh_from_db()
    assert house.secret == sftp_server.password
    assert services.test_connection(actor=manager, clearinghouse=house).ok


def test_test_connection_says_what_it_found_in_words(sftp_server, manager, tmp_path):
    house = sftp_clearinghouse(sftp_server, manager)
    check = services.test_connection(actor=manager, clearinghouse=house)
    assert check.ok and "both folders are there" in check.message
    (sftp_server.root / "inbound").rmdir()
    check = services.test_connection(actor=manager, clearinghouse=house)
    assert not check.ok and "inbound folder '/inbound' does not exist" in check.message
    portal = folder_clearinghouse(tmp_path, manager, inbound_path=str(tmp_path / "missing"))
    check = services.test_connection(actor=manager, clearinghouse=portal)
    assert not check.ok and "does not exist" in check.message


# --- Collecting -----------------------------------------------------------------------------


@needs_corpus
def test_collect_files_each_answer_once_and_a_rerun_collects_nothing(sftp_server, manager, biller):
    inbound = sftp_server.root / "inbound"
    for kind in ("999", "277CA", "835"):
        (inbound / f"answer-{kind}.x12").write_bytes(answer(kind))
    (inbound / "notice.txt").write_bytes(b"Maintenance on Sunday.")
    house = sftp_clearinghouse(sftp_server, manager)
    result = services.collect(actor=biller, clearinghouse=house)
    assert result.ok and result.failed == [] and result.already_filed == []
    kinds = {r.name: r.kind for r in result.filed}
    assert kinds == {
        "answer-999.x12": ReceiptKind.ACK_999, "answer-277CA.x12": ReceiptKind.CLAIM_ACK_277CA,
        "answer-835.x12": ReceiptKind.REMITTANCE_835, "notice.txt": ReceiptKind.OTHER,
    }  # fmt: skip
    for receipt in MailboxReceipt.objects.all():
        with receipt.file.open("rb") as stored:
            content = stored.read()
        assert content == (inbound / receipt.name).read_bytes()
        assert receipt.sha256 == hashlib.sha256(content).hexdigest()
        assert receipt.received_by == biller and receipt.size == len(content)
    detail = MailboxReceipt.objects.get(name="notice.txt").detail
    assert "Not X12 (text, 22 bytes, sha256 " in detail and "Maintenance" not in detail
    again = services.collect(actor=biller, clearinghouse=house)
    assert again.filed == [] and sorted(again.already_filed) == sorted(kinds)
    assert MailboxReceipt.objects.count() == 4
    assert "0 new file(s) filed, 4 already filed" in again.summary()


@needs_corpus
def test_a_changed_file_under_the_same_name_is_filed_again(tmp_path, manager, biller):
    house = folder_clearinghouse(tmp_path, manager)
    (tmp_path / "in" / "resp.999").write_bytes(answer("999"))
    assert len(services.collect(actor=biller, clearinghouse=house).filed) == 1
    (tmp_path / "in" / "resp.999").write_bytes(answer("999").replace(b"~", b"~\n"))
    assert len(services.collect(actor=biller, clearinghouse=house).filed) == 1
    assert MailboxReceipt.objects.filter(name="resp.999").count() == 2


def test_collect_archives_after_filing_so_the_next_run_finds_nothing(sftp_server, manager, biller):
    (sftp_server.root / "inbound" / "a.txt").write_bytes(b"first")
    house = sftp_clearinghouse(sftp_server, manager, after_collect="archive")
    result = services.collect(actor=biller, clearinghouse=house)
    assert [r.name for r in result.filed] == ["a.txt"] and result.not_tidied == []
    assert (sftp_server.root / "archive" / "a.txt").read_bytes() == b"first"
    assert list((sftp_server.root / "inbound").iterdir()) == []
    again = services.collect(actor=biller, clearinghouse=house)
    assert again.filed == again.already_filed == [] and MailboxReceipt.objects.count() == 1


def test_a_file_that_cannot_be_fetched_is_reported_and_the_rest_collected(
    tmp_path, manager, biller
):
    house = folder_clearinghouse(tmp_path, manager, after_collect="delete")
    (tmp_path / "in" / "good-1.txt").write_bytes(b"one")
    (tmp_path / "in" / "bad name.txt").write_bytes(b"a name the mailbox does not take")
    (tmp_path / "in" / "good-2.txt").write_bytes(b"two")
    result = services.collect(actor=biller, clearinghouse=house)
    assert sorted(r.name for r in result.filed) == ["good-1.txt", "good-2.txt"]
    assert [name for name, _ in result.failed] == ["bad name.txt"]
    assert "is not a file name the mailbox takes" in result.failed[0][1]
    assert not result.ok and "1 could not be fetched" in result.summary()
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["bad name.txt"]


def test_an_unreachable_mailbox_is_reported_in_words(sftp_server, manager, biller):
    house = sftp_clearinghouse(sftp_server, manager, port=free_port())
    result = services.collect(actor=biller, clearinghouse=house)
    assert f"Could not connect to 127.0.0.1:{house.port} over SFTP" in result.error
    assert not result.ok
    assert not MailboxReceipt.objects.exists()


# --- Hooks ----------------------------------------------------------------------------------


@pytest.fixture
def handlers():
    added = []

    def register(kind, handler):
        services.on_receipt(kind, handler)
        added.append((kind, handler))

    yield register
    for kind, handler in added:
        services.forget_receipt_handler(kind, handler)


@needs_corpus
def test_handlers_run_for_new_receipts_and_a_failing_one_loses_no_file(
    tmp_path, manager, biller, handlers
):
    seen = []

    def acknowledge(receipt, content):
        seen.append((receipt.name, receipt.kind, len(content)))

    def breaks(receipt, content):
        # Writes, then fails: its write must be rolled back with it, and the receipt kept.
        MailboxSubmission.objects.create(clearinghouse=receipt.clearinghouse, name="x",
                                         sha256="0" * 64, size=1)  # fmt: skip
        raise ValueError("claim 12345 is not known")

    handlers("999", acknowledge)
    handlers("835", breaks)
    house = folder_clearinghouse(tmp_path, manager)
    (tmp_path / "in" / "ack.999").write_bytes(answer("999"))
    (tmp_path / "in" / "era.835").write_bytes(answer("835"))
    result = services.collect(actor=biller, clearinghouse=house)
    assert len(result.filed) == 2 and result.ok
    ack = MailboxReceipt.objects.get(name="ack.999")
    era = MailboxReceipt.objects.get(name="era.835")
    assert seen == [("ack.999", "999", len(answer("999")))]
    assert ack.processed and ack.processed_at is not None and ack.handler_error == ""
    assert not era.processed and "claim 12345 is not known" in era.handler_error
    assert not MailboxSubmission.objects.exists()
    services.collect(actor=biller, clearinghouse=house)
    assert len(seen) == 1  # a file filed already is not processed again


def test_a_handler_for_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown receipt kind"):
        services.on_receipt("998", lambda receipt, content: None)


# --- The periodic job -----------------------------------------------------------------------


def test_the_worker_job_collects_from_every_active_clearinghouse(tmp_path, manager):
    from django.conf import settings
    from django.utils.module_loading import import_string

    from medoffice.claims.mailbox_tasks import collect_responses

    path = "medoffice.claims.mailbox_tasks.collect_responses"
    assert import_string(path) is collect_responses and settings.MEDOFFICE_SCHEDULE[path] > 0

    one = folder_clearinghouse(tmp_path / "one", manager, name="One")
    folder_clearinghouse(tmp_path / "two", manager, name="Two")
    folder_clearinghouse(tmp_path / "off", manager, name="Off", is_active=False)
    (tmp_path / "one" / "in" / "a.txt").write_bytes(b"a")
    (tmp_path / "two" / "in" / "b.txt").write_bytes(b"b")
    (tmp_path / "off" / "in" / "c.txt").write_bytes(b"c")
    outcome = collect_responses.call()
    assert outcome == {"clearinghouses": 2, "filed": 2, "failed": 0}
    assert sorted(MailboxReceipt.objects.values_list("name", flat=True)) == ["a.txt", "b.txt"]
    event = AuditEvent.objects.filter(object_type="claims.mailboxreceipt").first()
    assert event is not None and "via job claims.mailbox_tasks.collect_responses" in (
        event.actor_name
    )
    assert collect_responses.call()["filed"] == 0
    assert MailboxReceipt.objects.filter(clearinghouse=one).count() == 1
