"""The SFTP transport (asyncssh), behind a synchronous facade: one private event loop per
session. The server's host key must be the one stored for the clearinghouse; any other key,
or none stored, refuses the connection (docs/adr/0019-clearinghouse-mailbox.md).

A connection that cannot be made is refused in the same words whatever the reason (a closed
port, a port that is not SSH, a wrong key or password, a timeout): the words must not let a
manager map which internal hosts and ports answer. The reason goes to the server's log.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import socket
import stat
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncssh

from medoffice.claims.mailbox.base import (
    ARCHIVE,
    DELETE,
    MailboxConfig,
    MailboxError,
    RemoteFile,
    check_name,
    too_big,
)

T = TypeVar("T")
logger = logging.getLogger(__name__)


def not_connected(config: MailboxConfig) -> MailboxError:
    """The one answer for a connection that could not be made, whatever the reason."""
    return MailboxError(
        f"Could not connect to {config.host}:{config.port} over SFTP. Check the host, port, "
        "user name, secret and host key; the server's log has the reason.",
        code="unreachable",
    )


def _host_key(config: MailboxConfig) -> asyncssh.SSHKey:
    if not config.host_key.strip():
        raise MailboxError(
            "No host key is stored for this clearinghouse: paste the server's public key "
            "(as the clearinghouse publishes it) before connecting.",
            code="host_key",
        )
    try:
        return asyncssh.import_public_key(config.host_key.strip())
    except (asyncssh.KeyImportError, ValueError):
        raise MailboxError(
            "The stored host key cannot be read: it should look like 'ssh-ed25519 AAAA...'.",
            code="host_key",
        ) from None


def _words(exc: BaseException, config: MailboxConfig) -> MailboxError:
    where = f"{config.host}:{config.port}"
    if isinstance(exc, MailboxError):
        return exc
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return MailboxError(
            f"The server at {where} did not present the host key stored for this "
            "clearinghouse; the connection was refused (check the key with the clearinghouse).",
            code="host_key",
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        return MailboxError(
            f"The server at {where} refused the user name and password or key.", code="auth"
        )
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return MailboxError(
            f"The server at {where} did not answer within {config.timeout:g} seconds.",
            code="timeout",
        )
    if isinstance(exc, ConnectionRefusedError):
        return MailboxError(f"The server at {where} refused the connection.", code="refused")
    if isinstance(exc, socket.gaierror):
        return MailboxError(f"The host name {config.host!r} is not known.", code="unreachable")
    if isinstance(exc, asyncssh.SFTPNoSuchFile):
        return MailboxError(
            f"A folder or file on the server does not exist: {exc.reason}.", code="missing_folder"
        )
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return MailboxError(f"The server refused access: {exc.reason}.", code="auth")
    if isinstance(exc, asyncssh.SFTPError):
        return MailboxError(f"The server answered: {exc.reason}.", code="error")
    if isinstance(exc, asyncssh.Error):
        return MailboxError(f"The SSH connection to {where} failed: {exc.reason}.", code="error")
    if isinstance(exc, OSError):
        return MailboxError(
            f"The server at {where} cannot be reached: {exc.strerror or exc}.", code="unreachable"
        )
    return MailboxError(f"The connection to {where} failed: {exc}.", code="error")


class SftpTransport:
    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        # The loop runs in a thread of its own, so the facade works whatever the calling thread
        # is doing with asyncio (a running loop there would refuse run_until_complete).
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sftp-transport", daemon=True
        )
        self._thread.start()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    def _in_loop(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(coro, timeout)

        return asyncio.run_coroutine_threadsafe(bounded(), self._loop).result()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return self._in_loop(coro, self.config.timeout)
        except MailboxError:
            raise  # already in words (a setting that cannot be read, a missing folder…)
        except Exception as exc:
            if self._sftp is None:  # never connected: one answer, the reason to the log
                logger.warning(
                    "SFTP connection to %s:%s failed: %s",
                    self.config.host, self.config.port, _words(exc, self.config).message,
                )  # fmt: skip
                raise not_connected(self.config) from exc
            raise _words(exc, self.config) from exc

    async def _open(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            config = self.config
            options: dict[str, Any] = {
                "port": config.port,
                "username": config.username,
                "known_hosts": ([_host_key(config)], [], []),
                "connect_timeout": config.timeout,
                "login_timeout": config.timeout,
                "agent_path": None,
                "client_keys": None,
                "password": None,
                "preferred_auth": "password",
            }
            if config.private_key.strip():
                try:
                    key = asyncssh.import_private_key(config.private_key.strip())
                except (asyncssh.KeyImportError, ValueError):
                    raise MailboxError(
                        "The stored private key cannot be read (an unencrypted OpenSSH or PEM "
                        "key is expected).",
                        code="auth",
                    ) from None
                options.update(client_keys=[key], preferred_auth="publickey")
            else:
                options["password"] = config.password
            self._conn = await asyncssh.connect(config.host, **options)
            self._sftp = await self._conn.start_sftp_client()
        return self._sftp

    async def _folder(self, sftp: asyncssh.SFTPClient, path: str, what: str) -> str:
        try:
            attrs = await sftp.stat(path)
        except asyncssh.SFTPNoSuchFile:
            raise MailboxError(
                f"The {what} folder {path!r} does not exist on the server.", code="missing_folder"
            ) from None
        if attrs.permissions is None or not stat.S_ISDIR(attrs.permissions):
            raise MailboxError(f"The {what} path {path!r} is not a folder.", code="missing_folder")
        return path

    def send(self, name: str, content: bytes) -> None:
        check_name(name)

        async def send() -> None:
            sftp = await self._open()
            folder = await self._folder(sftp, self.config.outbound, "outbound")
            final = posixpath.join(folder, name)
            if await sftp.exists(final):
                raise MailboxError(
                    f"A file named {name} is already in the outbound folder.", code="exists"
                )
            temp = posixpath.join(folder, f".{uuid.uuid4().hex}.part")
            async with sftp.open(temp, "wb") as remote:
                await remote.write(content)
            try:
                await sftp.rename(temp, final)  # SFTP v3 rename never overwrites
            except asyncssh.SFTPError:
                await sftp.remove(temp)
                raise

        self._run(send())

    def list_inbound(self) -> list[RemoteFile]:
        async def listing() -> list[RemoteFile]:
            sftp = await self._open()
            folder = await self._folder(sftp, self.config.inbound, "inbound")
            found = []
            for entry in await sftp.readdir(folder):
                perms = entry.attrs.permissions
                raw = entry.filename
                name = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                if name.startswith(".") or perms is None or not stat.S_ISREG(perms):
                    continue
                found.append(RemoteFile(name, int(entry.attrs.size or 0)))
            return sorted(found, key=lambda f: f.name)

        return self._run(listing())

    def fetch(self, name: str) -> bytes:
        check_name(name)

        limit = self.config.max_bytes

        async def fetch() -> bytes:
            sftp = await self._open()
            path = posixpath.join(self.config.inbound, name)
            attrs = await sftp.stat(path)
            if attrs.permissions is None or not stat.S_ISREG(attrs.permissions):
                raise MailboxError(f"{name} is not a file.", code="invalid")
            if attrs.size is not None and attrs.size > limit:
                raise too_big(name, attrs.size, limit)
            async with sftp.open(path, "rb") as remote:
                data = await remote.read(limit + 1)
            content = data if isinstance(data, bytes) else data.encode()
            if len(content) > limit:  # it grew after the look
                raise too_big(name, len(content), limit)
            return content

        return self._run(fetch())

    def done_with(self, name: str) -> None:
        check_name(name)
        source = posixpath.join(self.config.inbound, name)

        async def tidy() -> None:
            sftp = await self._open()
            if self.config.after_collect == DELETE:
                await sftp.remove(source)
            elif self.config.after_collect == ARCHIVE:
                folder = await self._folder(sftp, self.config.archive, "archive")
                await sftp.rename(source, posixpath.join(folder, name))

        self._run(tidy())

    def check(self) -> str:
        async def check() -> str:
            sftp = await self._open()
            await self._folder(sftp, self.config.outbound, "outbound")
            await self._folder(sftp, self.config.inbound, "inbound")
            return f"Connected to {self.config.host}:{self.config.port}; both folders are there."

        return self._run(check())

    def close(self) -> None:
        async def close() -> None:
            if self._sftp is not None:
                self._sftp.exit()
            if self._conn is not None:
                self._conn.close()
                await self._conn.wait_closed()

        try:
            self._in_loop(close(), 5)
        except Exception:  # noqa: S110 (closing a broken session: nothing left to do)
            pass
        finally:
            self._sftp = self._conn = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()
