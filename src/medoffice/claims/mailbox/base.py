"""What every transport offers, the settings it is given and the one error it raises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

SFTP = "sftp"
FOLDER = "folder"
KEEP, ARCHIVE, DELETE = "keep", "archive", "delete"

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$")


class MailboxError(Exception):
    """A transport failed; `message` says what happened in words, `code` names the kind
    (refused, unreachable, timeout, auth, host_key, missing_folder, exists, invalid, error)."""

    def __init__(self, message: str, *, code: str = "error") -> None:
        self.message = message
        self.code = code
        super().__init__(message)


def check_name(name: str) -> str:
    """A file name as the mailbox takes it: one plain component, no folders, no hidden files."""
    if not _PLAIN_NAME.match(name or "") or ".." in name:
        raise MailboxError(
            f"{name!r} is not a file name the mailbox takes: use letters, digits, dots, "
            "dashes and underscores (up to 200), starting with a letter or digit.",
            code="invalid",
        )
    return name


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int


@dataclass(frozen=True)
class MailboxConfig:
    """A clearinghouse's connection, as the transports read it."""

    kind: str  # SFTP or FOLDER
    outbound: str  # where submissions go (a remote path, or a local folder)
    inbound: str  # where responses are picked up
    host: str = ""
    port: int = 22
    username: str = ""
    password: str = ""
    private_key: str = ""  # an OpenSSH or PEM private key (instead of a password)
    host_key: str = ""  # the server's public key, "ssh-ed25519 AAAA..."
    after_collect: str = KEEP  # KEEP, ARCHIVE (to `archive`) or DELETE
    archive: str = ""
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the secrets
        return f"MailboxConfig(kind={self.kind!r}, host={self.host!r}, port={self.port})"


@runtime_checkable
class Transport(Protocol):
    """One open session with a mailbox. Every failure is a MailboxError."""

    def send(self, name: str, content: bytes) -> None:
        """Put `content` in the outbound folder as `name`; never overwrites a file there."""

    def list_inbound(self) -> list[RemoteFile]:
        """The regular files in the inbound folder, by name."""

    def fetch(self, name: str) -> bytes:
        """The bytes of one inbound file."""

    def done_with(self, name: str) -> None:
        """After a file is filed: keep, archive or delete it, as the settings say."""

    def check(self) -> str:
        """Both folders can be reached; what was found, in words."""

    def close(self) -> None: ...
