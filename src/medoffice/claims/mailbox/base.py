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
    (unreachable, auth, host_key, missing_folder, not_allowed, too_big, exists, invalid, error)."""

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


DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    # Why the file is not to be fetched (a link out of the mailbox folders…), in words; the
    # file is left where it is.
    problem: str = ""


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
    max_bytes: int = DEFAULT_MAX_BYTES  # a bigger inbound file is not fetched
    # The folder transport's fence: every folder must resolve inside `folder_root`, and none may
    # be, hold or lie inside a `protected` path (the database, the keys, stored files, the code).
    folder_root: str = ""
    protected: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never show the secrets
        return f"MailboxConfig(kind={self.kind!r}, host={self.host!r}, port={self.port})"


@runtime_checkable
class Transport(Protocol):
    """One open session with a mailbox. Every failure is a MailboxError."""

    def send(self, name: str, content: bytes) -> None:
        """Put `content` in the outbound folder as `name`; never overwrites a file there."""

    def list_inbound(self) -> list[RemoteFile]:
        """The regular files in the inbound folder, by name (one it will not fetch carries its
        `problem`)."""

    def fetch(self, name: str) -> bytes:
        """The bytes of one inbound file (refused when bigger than `max_bytes`)."""

    def done_with(self, name: str) -> None:
        """After a file is filed: keep, archive or delete it, as the settings say."""

    def check(self) -> str:
        """Both folders can be reached; what was found, in words."""

    def close(self) -> None: ...


def _megabytes(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 104858 else f"{size} bytes"


def too_big(name: str, size: int, limit: int) -> MailboxError:
    """The refusal of an inbound file over the size limit (the file stays where it is)."""
    return MailboxError(
        f"{name} is {_megabytes(size)}, over the {_megabytes(limit)} limit for a collected file: "
        "it was not collected and stays in the inbound folder.",
        code="too_big",
    )
