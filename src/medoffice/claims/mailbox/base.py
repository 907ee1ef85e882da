"""What every transport offers, the settings it is given and the one error it raises."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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
class FolderClash:
    """Two of a clearinghouse's folders that are one, or one inside the other: `second` (the
    later of outbound, inbound, archive) is the one to change."""

    first: str  # what: "outbound", "inbound" or "archive"
    first_path: str
    second: str
    second_path: str
    relation: str  # "same", "holds" (second holds first) or "inside" (second inside first)

    @property
    def message(self) -> str:
        tail = (
            ": collecting would pick up our own files. Keep the outbound, inbound and archive "
            "folders apart, none inside another."
        )
        if self.relation == "same":
            return (
                f"The {self.second} folder must not be the {self.first} folder "
                f"(both are {self.second_path!r}){tail}"
            )
        verb = "hold" if self.relation == "holds" else "lie inside"
        return (
            f"The {self.second} folder {self.second_path!r} must not {verb} the {self.first} "
            f"folder {self.first_path!r}{tail}"
        )


def _comparable(path: str, *, local: bool) -> tuple[str, ...] | None:
    """The path's parts, to compare with another's: a local folder resolved (links followed),
    a remote one normalized (relative ones are relative to the same login folder)."""
    if local:
        try:
            return Path(path).resolve().parts
        except (OSError, RuntimeError, ValueError):
            return None
    normal = posixpath.normpath(path)
    parts = tuple(part for part in normal.split("/") if part not in ("", "."))
    return ("/", *parts) if normal.startswith("/") else ("", *parts)


def folder_clash(folders: Sequence[tuple[str, str]], *, local: bool) -> FolderClash | None:
    """The first two of `folders` ((what, path), blank paths left out) that are the same
    folder or one inside the other; None when they are all apart."""
    seen: list[tuple[str, str, tuple[str, ...]]] = []
    for what, path in folders:
        if not path:
            continue
        parts = _comparable(path, local=local)
        if parts is None:
            continue
        for first, first_path, first_parts in seen:
            if local is False and first_parts[:1] != parts[:1]:
                continue  # one absolute, one relative to the login folder: cannot tell
            if parts == first_parts:
                relation = "same"
            elif parts[: len(first_parts)] == first_parts:
                relation = "inside"
            elif first_parts[: len(parts)] == parts:
                relation = "holds"
            else:
                continue
            return FolderClash(first, first_path, what, path, relation)
        seen.append((what, path, parts))
    return None


def check_folders_apart(config: MailboxConfig) -> None:
    """Refuse (MailboxError, code not_allowed) a configuration whose outbound, inbound and
    archive folders are not apart: an inbound folder holding the outbound one would collect
    our own submissions. Checked each time a transport is opened or a folder used."""
    folders = [("outbound", config.outbound), ("inbound", config.inbound)]
    if config.after_collect == ARCHIVE:
        folders.append(("archive", config.archive))
    clash = folder_clash(folders, local=config.kind == FOLDER)
    if clash is not None:
        raise MailboxError(clash.message, code="not_allowed")


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
