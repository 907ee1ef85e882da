"""A real SFTP server on 127.0.0.1 for tests (asyncssh's server side, in a thread).

`sftp_server` gives a running server whose root is a temporary folder holding `outbound/`
and `inbound/`, with a generated host key, a user with a password and a client key.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

USERNAME = "practice"
PASSWORD = "mailbox-test-password"


@dataclass
class SftpServer:
    host: str
    port: int
    root: Path
    host_key: str  # the server's public key line
    client_key: str  # a private key the server accepts for USERNAME
    username: str = USERNAME
    password: str = PASSWORD


def _start(root: Path, host_key: asyncssh.SSHKey, client_key: asyncssh.SSHKey):
    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == USERNAME and password == PASSWORD

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
            return username == USERNAME and key.public_data == client_key.public_data

    class Root(asyncssh.SFTPServer):
        def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
            super().__init__(chan, chroot=str(root).encode())

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def listen() -> None:
            state["server"] = await asyncssh.listen(
                "127.0.0.1", 0, server_factory=Server, server_host_keys=[host_key],
                sftp_factory=Root, allow_scp=False,
            )  # fmt: skip
            ready.set()

        loop.run_until_complete(listen())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the test SFTP server did not start"
    server = state["server"]
    port = server.sockets[0].getsockname()[1]

    def stop() -> None:
        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return port, stop


@pytest.fixture
def sftp_server(tmp_path) -> Iterator[SftpServer]:
    root = tmp_path / "sftp-root"
    (root / "outbound").mkdir(parents=True)
    (root / "inbound").mkdir()
    (root / "archive").mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    port, stop = _start(root, host_key, client_key)
    try:
        yield SftpServer(
            host="127.0.0.1",
            port=port,
            root=root,
            host_key=host_key.export_public_key().decode().strip(),
            client_key=client_key.export_private_key().decode(),
        )
    finally:
        stop()
