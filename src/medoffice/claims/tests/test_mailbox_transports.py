"""The mailbox transports against a real SFTP server on 127.0.0.1 and real folders."""

from __future__ import annotations

import socket

import asyncssh
import pytest

from medoffice.claims.mailbox import MailboxConfig, MailboxError, open_transport
from medoffice.claims.mailbox.base import ARCHIVE, DELETE, FOLDER, SFTP

BATCH = b"ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *~"


def sftp_config(server, **changes) -> MailboxConfig:
    values = dict(
        kind=SFTP, host=server.host, port=server.port, username=server.username,
        password=server.password, host_key=server.host_key, outbound="/outbound",
        inbound="/inbound", archive="/archive", timeout=10,
    )  # fmt: skip
    values.update(changes)
    return MailboxConfig(**values)


def attempt(config: MailboxConfig, action=lambda t: t.check()) -> MailboxError:
    transport = open_transport(config)
    try:
        with pytest.raises(MailboxError) as caught:
            action(transport)
    finally:
        transport.close()
    return caught.value


def test_sftp_round_trip_with_password(sftp_server):
    (sftp_server.root / "inbound" / "resp-1.999").write_bytes(b"first")
    (sftp_server.root / "inbound" / "resp-2.277").write_bytes(b"second response")
    transport = open_transport(sftp_config(sftp_server))
    try:
        assert "both folders" in transport.check()
        transport.send("batch-1.837", BATCH)
        names = [(f.name, f.size) for f in transport.list_inbound()]
        fetched = transport.fetch("resp-2.277")
    finally:
        transport.close()
    assert (sftp_server.root / "outbound" / "batch-1.837").read_bytes() == BATCH
    assert [p.name for p in (sftp_server.root / "outbound").iterdir()] == ["batch-1.837"]
    assert names == [("resp-1.999", 5), ("resp-2.277", 15)]
    assert fetched == b"second response"


def test_sftp_with_a_private_key_and_archiving(sftp_server):
    (sftp_server.root / "inbound" / "resp.999").write_bytes(b"ack")
    config = sftp_config(sftp_server, password="", private_key=sftp_server.client_key,
                         after_collect=ARCHIVE)  # fmt: skip
    transport = open_transport(config)
    try:
        transport.done_with("resp.999")
        assert transport.list_inbound() == []
    finally:
        transport.close()
    assert (sftp_server.root / "archive" / "resp.999").read_bytes() == b"ack"


def test_sftp_never_overwrites_a_file_in_the_outbound_folder(sftp_server):
    (sftp_server.root / "outbound" / "batch.837").write_bytes(b"earlier")
    error = attempt(sftp_config(sftp_server), lambda t: t.send("batch.837", BATCH))
    assert error.code == "exists" and "already in the outbound folder" in error.message
    assert (sftp_server.root / "outbound" / "batch.837").read_bytes() == b"earlier"


def test_a_host_key_other_than_the_stored_one_is_refused(sftp_server, caplog):
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    error = attempt(sftp_config(sftp_server, host_key=other), lambda t: t.send("b.837", BATCH))
    assert error.message.startswith(f"Could not connect to 127.0.0.1:{sftp_server.port} over SFTP")
    assert "did not present the host key stored" in caplog.text  # the reason, in the log only
    assert list((sftp_server.root / "outbound").iterdir()) == []


def test_no_stored_host_key_refuses_before_connecting(sftp_server):
    error = attempt(sftp_config(sftp_server, host_key=""))
    assert error.code == "host_key" and "No host key is stored" in error.message


def test_a_wrong_password_is_refused_in_words(sftp_server, caplog):
    error = attempt(sftp_config(sftp_server, password="not-it"))
    assert error.message.startswith(f"Could not connect to 127.0.0.1:{sftp_server.port} over SFTP")
    assert "refused the user name and password" in caplog.text


def test_a_missing_folder_is_named(sftp_server):
    error = attempt(sftp_config(sftp_server, inbound="/responses"), lambda t: t.list_inbound())
    assert error.code == "missing_folder" and "'/responses'" in error.message


def test_a_server_that_is_down_is_a_refused_connection(sftp_server, caplog):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    error = attempt(sftp_config(sftp_server, port=free))
    assert error.code == "unreachable"
    assert error.message.startswith(f"Could not connect to 127.0.0.1:{free} over SFTP")
    assert "refused the connection" in caplog.text and "refused" not in error.message


def test_file_names_that_leave_the_folder_are_refused(sftp_server):
    error = attempt(sftp_config(sftp_server), lambda t: t.send("../escape.837", BATCH))
    assert error.code == "invalid"
    assert not (sftp_server.root / "escape.837").exists()


def test_folder_round_trip(tmp_path):
    out, inbox, archive = (tmp_path / n for n in ("out", "in", "archive"))
    for folder in (out, inbox, archive):
        folder.mkdir()
    (inbox / "resp.999").write_bytes(b"ack")
    (inbox / ".partial").write_bytes(b"hidden")
    config = MailboxConfig(kind=FOLDER, outbound=str(out), inbound=str(inbox),
                           archive=str(archive), after_collect=DELETE,
                           folder_root=str(tmp_path))  # fmt: skip
    transport = open_transport(config)
    transport.send("batch.837", BATCH)
    assert (out / "batch.837").read_bytes() == BATCH
    assert [p.name for p in out.iterdir()] == ["batch.837"]  # no temporary file left
    with pytest.raises(MailboxError, match="already in the outbound folder"):
        transport.send("batch.837", b"other")
    assert (out / "batch.837").read_bytes() == BATCH
    assert [f.name for f in transport.list_inbound()] == ["resp.999"]
    assert transport.fetch("resp.999") == b"ack"
    transport.done_with("resp.999")
    assert transport.list_inbound() == []


def test_folder_missing_is_named(tmp_path):
    (tmp_path / "in").mkdir()
    config = MailboxConfig(kind=FOLDER, outbound=str(tmp_path / "nope"),
                           inbound=str(tmp_path / "in"), folder_root=str(tmp_path))  # fmt: skip
    with pytest.raises(MailboxError, match="outbound folder") as caught:
        open_transport(config).check()
    assert caught.value.code == "missing_folder"


def test_a_transport_whose_inbound_folder_holds_the_outbound_one_is_not_opened(tmp_path):
    (tmp_path / "out").mkdir()
    config = MailboxConfig(kind=FOLDER, outbound=str(tmp_path / "out"), inbound=str(tmp_path),
                           folder_root=str(tmp_path))  # fmt: skip
    with pytest.raises(MailboxError, match="must not hold the outbound folder") as caught:
        open_transport(config)
    assert caught.value.code == "not_allowed"


def test_sftp_works_from_a_thread_whose_event_loop_is_running(sftp_server):
    """A caller inside a running loop (a browser driver, an async server) cannot have the
    facade run its own loop in the same thread; the transport's loop has a thread of its own."""
    import asyncio

    async def caller() -> str:
        transport = open_transport(sftp_config(sftp_server))
        try:
            transport.send("from-a-loop.837", BATCH)
            return transport.check()
        finally:
            transport.close()

    import threading

    answers: list[str] = []
    # A thread of the test's own, as the thread running the test may hold a loop already.
    runner = threading.Thread(target=lambda: answers.append(asyncio.run(caller())))
    runner.start()
    runner.join(30)
    assert answers and "both folders" in answers[0]
    assert (sftp_server.root / "outbound" / "from-a-loop.837").read_bytes() == BATCH
