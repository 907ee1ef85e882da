"""The folder transport, for portals that take uploads: files are written to an outbound
folder (which a person or a sync tool uploads) and picked up from an inbound one.

Every folder must resolve (symbolic links followed) inside the configured mailbox root and
away from medoffice's own files; it is checked when the settings are saved and again here,
each time a folder is used, so a row saved before the rule or a link changed since is refused
before anything is read, moved or deleted. The outbound, inbound and archive folders must
also be apart, none inside another (an inbound folder holding the outbound one would collect
our own submissions), checked the same two times.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path

from medoffice.claims.mailbox.base import (
    ARCHIVE,
    DELETE,
    MailboxConfig,
    MailboxError,
    RemoteFile,
    check_folders_apart,
    check_name,
    too_big,
)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def allowed_path(path: str, what: str, *, root: str, protected: Iterable[str]) -> Path:
    """`path` resolved, when it lies inside `root` and is not, does not hold and does not lie
    inside any `protected` path; a MailboxError (code not_allowed) in words otherwise."""
    if not root:
        raise MailboxError(
            "No folder is configured for folder clearinghouses (MEDOFFICE_MAILBOX_FOLDERS): "
            "nothing is read or written.",
            code="not_allowed",
        )
    fence = Path(root).resolve()
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        raise MailboxError(f"The {what} folder {path!r} cannot be resolved.",
                           code="not_allowed") from None  # fmt: skip
    for guarded in protected:
        own = Path(guarded).resolve()
        if _inside(resolved, own) or _inside(own, resolved):
            raise MailboxError(
                f"The {what} folder {path!r} is or holds medoffice's own files (its database, "
                f"keys, stored files or code): choose a folder of its own inside {fence}.",
                code="not_allowed",
            )
    if not _inside(resolved, fence):
        raise MailboxError(
            f"The {what} folder {path!r} is not inside {fence}, the folder set for folder "
            "clearinghouses (MEDOFFICE_MAILBOX_FOLDERS): choose a folder inside it.",
            code="not_allowed",
        )
    return resolved


class FolderTransport:
    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self._allowed_folders()  # a clearinghouse with any folder out of bounds does nothing

    def _allowed(self, path: str, what: str) -> Path:
        return allowed_path(
            path, what, root=self.config.folder_root, protected=self.config.protected
        )

    def _allowed_folders(self) -> None:
        check_folders_apart(self.config)  # resolved now: a link changed since is seen
        for path, what in (
            (self.config.outbound, "outbound"),
            (self.config.inbound, "inbound"),
            (self.config.archive if self.config.after_collect == ARCHIVE else "", "archive"),
        ):
            if path:
                self._allowed(path, what)

    def _folder(self, path: str, what: str) -> Path:
        if not path:
            raise MailboxError(f"The {what} folder {path!r} does not exist.", code="missing_folder")
        self._allowed_folders()
        folder = self._allowed(path, what)
        if not folder.is_dir():
            raise MailboxError(f"The {what} folder {path!r} does not exist.", code="missing_folder")
        return folder

    def _entry(self, folder: Path, name: str) -> tuple[Path, str]:
        """Where an inbound file's bytes are, or why it is not to be read."""
        path = folder / name
        if not path.is_symlink():
            return path, ""
        try:
            target = self._allowed(str(path), "linked")
        except MailboxError:
            return path, (
                f"{name} is a link to a file outside the mailbox folders: it was skipped and "
                "left in the inbound folder."
            )
        if not target.is_file():
            return path, f"{name} is a link to something that is not a file: it was skipped."
        return target, ""

    def send(self, name: str, content: bytes) -> None:
        folder = self._folder(self.config.outbound, "outbound")
        final = folder / check_name(name)
        # Written under a hidden temporary name, then linked: a reader never sees half a file,
        # and a file already there is never overwritten.
        temp = folder / f".{uuid.uuid4().hex}.part"
        try:
            with open(temp, "xb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temp, final)
            except FileExistsError:
                raise MailboxError(
                    f"A file named {name} is already in the outbound folder.", code="exists"
                ) from None
        except OSError as exc:
            raise MailboxError(f"Could not write {name}: {exc.strerror}.", code="error") from exc
        finally:
            temp.unlink(missing_ok=True)

    def list_inbound(self) -> list[RemoteFile]:
        folder = self._folder(self.config.inbound, "inbound")
        found = []
        for entry in os.scandir(folder):
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                target, problem = self._entry(folder, entry.name)
                if problem:
                    found.append(RemoteFile(entry.name, 0, problem))
                else:
                    found.append(RemoteFile(entry.name, target.stat().st_size))
            elif entry.is_file(follow_symlinks=False):
                found.append(RemoteFile(entry.name, entry.stat(follow_symlinks=False).st_size))
        return sorted(found, key=lambda f: f.name)

    def fetch(self, name: str) -> bytes:
        folder = self._folder(self.config.inbound, "inbound")
        path, problem = self._entry(folder, check_name(name))
        if problem:
            raise MailboxError(problem, code="not_allowed")
        limit = self.config.max_bytes
        try:
            # The checked path, not followed again: a link put there meanwhile is not read.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as source:
                info = os.fstat(source.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise MailboxError(f"{name} is not a file.", code="invalid")
                if info.st_size > limit:
                    raise too_big(name, info.st_size, limit)
                content = source.read(limit + 1)
        except OSError as exc:
            raise MailboxError(f"Could not read {name}: {exc.strerror}.", code="error") from exc
        if len(content) > limit:  # it grew after the look
            raise too_big(name, len(content), limit)
        return content

    def done_with(self, name: str) -> None:
        path = self._folder(self.config.inbound, "inbound") / check_name(name)
        if self.config.after_collect == DELETE:
            path.unlink(missing_ok=True)  # a link is removed, never what it points to
        elif self.config.after_collect == ARCHIVE:
            target = self._folder(self.config.archive, "archive") / name
            os.replace(path, target)

    def check(self) -> str:
        self._folder(self.config.outbound, "outbound")
        count = len(self.list_inbound())
        return f"Both folders are there; {count} file(s) wait in the inbound folder."

    def close(self) -> None:
        return None
