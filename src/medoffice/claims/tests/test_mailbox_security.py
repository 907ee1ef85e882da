"""The mailbox keeps to its own folders and sizes: a folder clearinghouse cannot reach the data
folder's database, keys or stored files (refused when saved and again when used, links
followed), a file over the size limit stays where it is, a receipt never keeps the first
characters of a file that is not X12, a batch goes only to the receiver it was built for, and
a failed connection says the same whatever the port answered. Real folders, a real SFTP
server on 127.0.0.1 and a real database."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse

from medoffice.claims import batch_jobs, batches
from medoffice.claims import mailbox_services as services
from medoffice.claims.models import (
    ClaimBatch,
    ClaimStatus,
    Clearinghouse,
    MailboxReceipt,
    MailboxSubmission,
)
from medoffice.claims.tests.mailbox_support import folder_clearinghouse, sftp_clearinghouse
from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import Practice
from medoffice.testing.claim_builders import make_claim

pytestmark = pytest.mark.django_db
KEY = b"gAAAAABkSECRETKEYMATERIAL0123456789abcdefghijklmnop\n"


@pytest.fixture
def manager(users):
    return users["manager"]


@pytest.fixture
def biller(users):
    return users["biller"]


@pytest.fixture
def data(settings, tmp_path) -> Path:
    """A data folder of the test's own (keys, database, stored files) and the mailbox root
    beside it, so a refusal that fails would touch only throwaway copies."""
    folder = tmp_path / "data"
    (folder / "files").mkdir(parents=True)
    for name in ("secret_key", "field_keys", "audit_keys", "medoffice.sqlite3"):
        (folder / name).write_bytes(KEY)
    settings.DATA_DIR = folder
    settings.MEDIA_ROOT = str(folder / "files")
    settings.MEDOFFICE_MAILBOX_FOLDERS = str(tmp_path / "mailboxes")
    (tmp_path / "mailboxes").mkdir()
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def portal(tmp_path: Path, manager, **changes) -> Clearinghouse:
    return folder_clearinghouse(tmp_path / "mailboxes" / "portal", manager, **changes)


# --- 1. Folders inside the mailbox root, away from medoffice's own files ----------------------


@pytest.mark.parametrize("where", ["data", "data/files", "data/files/claims", "outside"])
def test_a_folder_at_the_data_folder_or_outside_the_root_is_refused_at_save(
    data, tmp_path, manager, where
):
    target = tmp_path / where
    target.mkdir(parents=True, exist_ok=True)
    with pytest.raises(InvalidInput) as refused:
        portal(tmp_path, manager, inbound_path=str(target))
    assert list(refused.value.errors) == ["inbound_path"]
    assert str(tmp_path / "mailboxes") in refused.value.errors["inbound_path"][0]
    assert not Clearinghouse.objects.exists()


def test_the_root_itself_may_not_hold_medoffice_s_files(data, tmp_path, manager, settings):
    settings.MEDOFFICE_MAILBOX_FOLDERS = str(tmp_path)  # a root that holds the data folder
    with pytest.raises(InvalidInput, match="medoffice's own files") as refused:
        folder_clearinghouse(tmp_path / "box", manager, archive_path=str(data),
                             after_collect="archive")  # fmt: skip
    assert list(refused.value.errors) == ["archive_path"]
    for folder in (data, data / "files", Path(services.__file__).parent):
        with pytest.raises(InvalidInput, match="medoffice's own files"):
            folder_clearinghouse(tmp_path / "box", manager, outbound_path=str(folder))
    # ...while a folder of its own beside them is fine.
    assert folder_clearinghouse(tmp_path / "box", manager).pk


def test_a_link_inside_the_root_to_the_data_folder_is_refused_at_save(data, tmp_path, manager):
    link = tmp_path / "mailboxes" / "looks-fine"
    link.symlink_to(data, target_is_directory=True)
    with pytest.raises(InvalidInput, match="medoffice's own files"):
        portal(tmp_path, manager, inbound_path=str(link))


def test_the_form_shows_the_refusal_next_to_the_field_naming_the_root(data, tmp_path, client_for):
    page = client_for("manager").post(
        reverse("claims:clearinghouse_new"),
        {"name": "Portal", "transport": "folder", "outbound_path": str(tmp_path / "mailboxes"),
         "inbound_path": str(data), "after_collect": "keep", "submitter_qualifier": "ZZ",
         "receiver_qualifier": "ZZ", "is_active": "on"},
    )  # fmt: skip
    assert page.status_code == 422
    field = _inbound_field(page)
    assert 'aria-invalid="true"' in field and 'id="inbound_path-error"' in field
    assert str(tmp_path / "mailboxes") in field
    assert not Clearinghouse.objects.exists()


@pytest.mark.parametrize("after_collect", ["keep", "delete", "archive"])
def test_a_row_saved_before_the_rule_is_refused_at_collect_and_nothing_moves(
    data, tmp_path, manager, biller, after_collect
):
    house = portal(tmp_path, manager)
    Clearinghouse.objects.filter(pk=house.pk).update(
        inbound_path=str(data), after_collect=after_collect,
        archive_path=str(tmp_path / "mailboxes" / "portal" / "archive"),
    )  # fmt: skip
    house.refresh_from_db()
    before = snapshot(data)
    result = services.collect(actor=biller, clearinghouse=house)
    assert "medoffice's own files" in result.error and not result.ok and result.filed == []
    assert snapshot(data) == before  # nothing read into the mailbox, moved or deleted
    assert not MailboxReceipt.objects.exists()
    assert list((tmp_path / "mailboxes" / "portal" / "archive").iterdir()) == []
    check = services.test_connection(actor=manager, clearinghouse=house)
    assert not check.ok and "medoffice's own files" in check.message


def test_an_archive_folder_forced_to_the_data_folder_stops_the_collection_before_reading(
    data, tmp_path, manager, biller
):
    house = portal(tmp_path, manager)
    inbound = tmp_path / "mailboxes" / "portal" / "in"
    (inbound / "resp.999").write_bytes(b"an answer")
    Clearinghouse.objects.filter(pk=house.pk).update(
        after_collect="archive", archive_path=str(data / "files")
    )
    house.refresh_from_db()
    before = snapshot(data)
    result = services.collect(actor=biller, clearinghouse=house)
    assert "medoffice's own files" in result.error
    assert (inbound / "resp.999").read_bytes() == b"an answer"
    assert snapshot(data) == before and not MailboxReceipt.objects.exists()
    # Sending is refused too: the clearinghouse is out of bounds as a whole.
    sent = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=b"ISA")
    assert sent.status == "failed" and "medoffice's own files" in sent.error


def test_a_folder_swapped_for_a_link_after_saving_is_refused(data, tmp_path, manager, biller):
    house = portal(tmp_path, manager, after_collect="delete")
    inbound = tmp_path / "mailboxes" / "portal" / "in"
    inbound.rmdir()
    inbound.symlink_to(data, target_is_directory=True)
    before = snapshot(data)
    result = services.collect(actor=biller, clearinghouse=house)
    assert "medoffice's own files" in result.error
    assert snapshot(data) == before and not MailboxReceipt.objects.exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "resp.999").write_bytes(b"not the mailbox's")
    inbound.unlink()
    inbound.symlink_to(elsewhere, target_is_directory=True)
    result = services.collect(actor=biller, clearinghouse=house)
    assert "is not inside" in result.error and str(tmp_path / "mailboxes") in result.error
    assert (elsewhere / "resp.999").exists() and not MailboxReceipt.objects.exists()


def test_linked_files_pointing_out_of_the_root_are_skipped_and_reported(
    data, tmp_path, manager, biller
):
    house = portal(tmp_path, manager, after_collect="delete")
    inbound = tmp_path / "mailboxes" / "portal" / "in"
    (inbound / "key.999").symlink_to(data / "secret_key")
    outside = tmp_path / "elsewhere.txt"
    outside.write_bytes(b"not the mailbox's")
    (inbound / "other.999").symlink_to(outside)
    (inbound / "resp.999").write_bytes(b"an answer")
    inside = tmp_path / "mailboxes" / "shared.999"
    inside.write_bytes(b"a file kept inside the mailbox folders")
    (inbound / "shared.999").symlink_to(inside)
    result = services.collect(actor=biller, clearinghouse=house)
    assert sorted(r.name for r in result.filed) == ["resp.999", "shared.999"]
    skipped = dict(result.failed)
    assert sorted(skipped) == ["key.999", "other.999"] and not result.ok
    assert all("outside the mailbox folders" in words for words in skipped.values())
    assert (inbound / "key.999").is_symlink() and (inbound / "other.999").is_symlink()
    assert (data / "secret_key").read_bytes() == KEY and outside.exists()
    assert inside.exists()  # deleting the link left what it points to
    assert set(MailboxReceipt.objects.values_list("name", flat=True)) == {"resp.999", "shared.999"}


# --- 2. A size limit on collected files -----------------------------------------------------


def test_a_file_over_the_limit_stays_in_place_and_is_reported(
    data, tmp_path, manager, biller, settings
):
    settings.MEDOFFICE_MAILBOX_MAX_BYTES = 1000
    house = portal(tmp_path, manager, after_collect="delete")
    inbound = tmp_path / "mailboxes" / "portal" / "in"
    (inbound / "big.835").write_bytes(b"x" * 1001)
    (inbound / "small.999").write_bytes(b"y" * 1000)
    result = services.collect(actor=biller, clearinghouse=house)
    assert [r.name for r in result.filed] == ["small.999"]
    ((name, words),) = result.failed
    assert name == "big.835"
    assert "1001 bytes, over the 1000 bytes limit" in words and "stays in the inbound" in words
    assert (inbound / "big.835").read_bytes() == b"x" * 1001
    assert sorted(p.name for p in inbound.iterdir()) == ["big.835"]
    assert list(MailboxReceipt.objects.values_list("name", flat=True)) == ["small.999"]


def test_an_sftp_file_over_the_limit_is_not_downloaded(sftp_server, manager, biller, settings):
    settings.MEDOFFICE_MAILBOX_MAX_BYTES = 1000
    inbound = sftp_server.root / "inbound"
    (inbound / "big.835").write_bytes(b"x" * 5000)
    (inbound / "small.999").write_bytes(b"small")
    house = sftp_clearinghouse(sftp_server, manager, after_collect="delete")
    result = services.collect(actor=biller, clearinghouse=house)
    assert [r.name for r in result.filed] == ["small.999"]
    assert [name for name, _ in result.failed] == ["big.835"]
    assert "5000 bytes, over the 1000 bytes limit" in result.failed[0][1]
    assert sorted(p.name for p in inbound.iterdir()) == ["big.835"]


# --- 3. What a receipt keeps of a file that is not X12 --------------------------------------


def test_the_receipt_of_a_file_that_is_not_x12_keeps_none_of_its_content(tmp_path, manager, biller):
    house = folder_clearinghouse(tmp_path, manager)
    (tmp_path / "in" / "key.txt").write_bytes(KEY)
    (tmp_path / "in" / "db.bin").write_bytes(b"SQLite format 3\x00" + b"\x01" * 100)
    broken = b"ISA*00*SECRETPART*00*          *ZZ*PRIVATEVALUE   ~"
    (tmp_path / "in" / "broken.999").write_bytes(broken)
    (tmp_path / "in" / "segment.999").write_bytes(b"NOTSEG*PRIVATE~")
    services.collect(actor=biller, clearinghouse=house)
    details = dict(MailboxReceipt.objects.values_list("name", "detail"))
    assert details["key.txt"].startswith(f"Not X12 (text, {len(KEY)} bytes, sha256 ")
    assert details["db.bin"].startswith("Not X12 (binary, 116 bytes, sha256 ")
    assert details["broken.999"].startswith(f"Not readable as X12 (text, {len(broken)} bytes")
    for detail in details.values():
        for secret in ("gAAAA", "SECRET", "SQLite", "PRIVATE", "NOTSEG"):
            assert secret not in detail, detail


# --- 4. A batch goes to the receiver it was built for ---------------------------------------


def test_resending_a_batch_to_another_receiver_is_refused_and_nothing_is_sent(
    tmp_path, manager, biller, code_tables
):
    Practice.objects.update(phone="+12175550100")
    built_for = folder_clearinghouse(tmp_path / "a", manager, name="A", receiver_id="AVAILITY")
    other = folder_clearinghouse(tmp_path / "b", manager, name="B", receiver_id="CHANGEHC")
    make_claim(lines=1, status=ClaimStatus.READY)  # one the scrubber passes with the code tables
    batch = batches.batch_build(actor=biller, exchange=batches.clearinghouse_exchange(built_for))
    with pytest.raises(InvalidInput) as refused:
        batch_jobs.resend_batch(actor=biller, batch_id=batch.pk, clearinghouse=other)
    assert "AVAILITY" in refused.value.message and "CHANGEHC" in refused.value.message
    assert list((tmp_path / "b" / "out").iterdir()) == []
    assert not MailboxSubmission.objects.exists()
    assert ClaimBatch.objects.get().submitted_at is None
    # To the receiver it was built for, it goes.
    words = batch_jobs.resend_batch(actor=biller, batch_id=batch.pk, clearinghouse=built_for)
    assert words == f"{batch.file_name} sent to A."
    assert (tmp_path / "a" / "out" / batch.file_name).read_bytes() == bytes(batch.content)


# --- 5. A failed connection says the same, whatever answered ---------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts a connection and closes it at once (open, but not SSH)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def test_connection_failures_read_the_same_whether_a_port_is_open_or_closed(
    sftp_server, manager, silent_port, caplog
):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    answers = {}
    for label, port, secret in (
        ("closed", closed, sftp_server.password),
        ("open, not SSH", silent_port, sftp_server.password),
        ("SSH, wrong password", sftp_server.port, "not-the-password"),
    ):
        house = sftp_clearinghouse(sftp_server, manager, name=label, port=port, secret=secret)
        check = services.test_connection(actor=manager, clearinghouse=house)
        assert not check.ok
        answers[label] = check.message.replace(str(port), "PORT")
    assert len(set(answers.values())) == 1, answers
    assert next(iter(answers.values())).startswith("Could not connect to 127.0.0.1:PORT over SFTP")
    for low_level in ("refused", "lost", "Connection", "password"):
        assert low_level not in next(iter(answers.values()))
    assert f"127.0.0.1:{closed}" in caplog.text and "refused the connection" in caplog.text


# --- Outbound, inbound and archive folders apart, none inside another -------------------------


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"inbound_path": "{box}"}, "inbound_path", "inbound folder '{box}' must not hold the outbound folder '{box}/out'"),
        ({"outbound_path": "{box}/in/out"}, "inbound_path", "inbound folder '{box}/in' must not hold the outbound folder '{box}/in/out'"),
        ({"outbound_path": "{box}", "inbound_path": "{box}/in"}, "inbound_path", "inbound folder '{box}/in' must not lie inside the outbound folder '{box}'"),
        ({"after_collect": "archive", "archive_path": "{box}/in/done"}, "archive_path", "archive folder '{box}/in/done' must not lie inside the inbound folder '{box}/in'"),
        ({"after_collect": "archive", "archive_path": "{box}/out"}, "archive_path", "archive folder must not be the outbound folder (both are '{box}/out')"),
    ],
)  # fmt: skip
def test_folders_inside_one_another_are_refused_at_save_naming_both(
    data, tmp_path, manager, changes, field, words
):
    box = str(tmp_path / "mailboxes" / "portal")
    for name in ("out", "in", "archive", "in/out", "in/done"):
        (tmp_path / "mailboxes" / "portal" / name).mkdir(parents=True, exist_ok=True)
    with pytest.raises(InvalidInput) as refused:
        portal(tmp_path, manager, **{k: v.format(box=box) for k, v in changes.items()})
    assert list(refused.value.errors) == [field]
    assert words.format(box=box) in refused.value.errors[field][0]
    assert "collecting would pick up our own files" in refused.value.errors[field][0]
    assert not Clearinghouse.objects.exists()


def test_an_inbound_link_to_the_outbound_folders_parent_is_refused_at_save(data, tmp_path, manager):
    box = tmp_path / "mailboxes" / "portal"
    (box / "out").mkdir(parents=True)
    link = tmp_path / "mailboxes" / "answers"
    link.symlink_to(box, target_is_directory=True)
    with pytest.raises(InvalidInput, match="must not hold the outbound folder") as refused:
        folder_clearinghouse(box, manager, inbound_path=str(link))
    assert str(link) in refused.value.message and str(box / "out") in refused.value.message
    assert not Clearinghouse.objects.exists()


def test_an_inbound_folder_made_the_outbounds_parent_after_saving_is_refused_when_used(
    data, tmp_path, manager, biller
):
    house = portal(tmp_path, manager, after_collect="delete")
    box = tmp_path / "mailboxes" / "portal"
    (box / "out" / "ours.837").write_bytes(b"our own claim file")
    (box / "theirs.999").write_bytes(b"an answer")
    Clearinghouse.objects.filter(pk=house.pk).update(inbound_path=str(box))  # before the rule
    house.refresh_from_db()
    result = services.collect(actor=biller, clearinghouse=house)
    assert not result.ok and result.filed == []
    assert (
        f"inbound folder '{box}' must not hold the outbound folder '{box / 'out'}'" in result.error
    )
    assert not MailboxReceipt.objects.exists()
    assert (box / "out" / "ours.837").read_bytes() == b"our own claim file"
    assert (box / "theirs.999").read_bytes() == b"an answer"  # not deleted
    sent = services.submit_file(actor=biller, clearinghouse=house, name="b.837", content=b"ISA")
    assert sent.status == "failed" and "must not hold the outbound folder" in sent.error
    assert not (box / "out" / "b.837").exists()
    check = services.test_connection(actor=manager, clearinghouse=house)
    assert not check.ok and "must not hold the outbound folder" in check.message


def test_remote_folders_are_compared_as_written_normalized():
    from medoffice.claims.mailbox.base import folder_clash

    assert folder_clash([("outbound", "/box/out/"), ("inbound", "/box/./")], local=False)
    assert folder_clash([("outbound", "out"), ("inbound", "out/../out")], local=False)
    assert folder_clash([("outbound", "/outbound"), ("inbound", "/inbound")], local=False) is None
    assert folder_clash([("outbound", "/out"), ("inbound", "/outbound")], local=False) is None
    # One relative to the login folder, one absolute: they cannot be compared.
    assert folder_clash([("outbound", "out"), ("inbound", "/")], local=False) is None


def test_the_form_shows_folders_inside_one_another_naming_both(data, tmp_path, client_for):
    box = tmp_path / "mailboxes" / "portal"
    (box / "out").mkdir(parents=True)
    page = client_for("manager").post(
        reverse("claims:clearinghouse_new"),
        {"name": "Portal", "transport": "folder", "outbound_path": str(box / "out"),
         "inbound_path": str(box), "after_collect": "keep", "submitter_qualifier": "ZZ",
         "receiver_qualifier": "ZZ", "is_active": "on"},
    )  # fmt: skip
    assert page.status_code == 422
    field = _inbound_field(page)
    assert 'aria-invalid="true"' in field
    assert f"{box}&#x27; must not hold the outbound folder &#x27;{box / 'out'}" in field
    assert not Clearinghouse.objects.exists()


def _inbound_field(page) -> str:
    """The form's inbound folder paragraph: the field, its state and its error."""
    html = page.content.decode()
    field = html[html.index('id="inbound_path"') :]
    return field[: field.index("</p>")]
