"""The folder transport, for portals that take uploads: files are written to an outbound
folder (which a person or a sync tool uploads) and picked up from an inbound one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from medoffice.claims.mailbox.base import (
    ARCHIVE,
    DELETE,
    MailboxConfig,
    MailboxError,
    RemoteFile,
    check_name,
)


class FolderTransport:
    def __init__(self, config: MailboxConfig) -> None:
        self.config = config

    def _folder(self, path: str, what: str) -> Path:
        folder = Path(path)
        if not path or not folder.is_dir():
            raise MailboxError(f"The {what} folder {path!r} does not exist.", code="missing_folder")
        return folder

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
            if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                found.append(RemoteFile(entry.name, entry.stat().st_size))
        return sorted(found, key=lambda f: f.name)

    def fetch(self, name: str) -> bytes:
        path = self._folder(self.config.inbound, "inbound") / check_name(name)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise MailboxError(f"Could not read {name}: {exc.strerror}.", code="error") from exc

    def done_with(self, name: str) -> None:
        path = self._folder(self.config.inbound, "inbound") / check_name(name)
        if self.config.after_collect == DELETE:
            path.unlink(missing_ok=True)
        elif self.config.after_collect == ARCHIVE:
            target = self._folder(self.config.archive, "archive") / name
            os.replace(path, target)

    def check(self) -> str:
        self._folder(self.config.outbound, "outbound")
        count = len(self.list_inbound())
        return f"Both folders are there; {count} file(s) wait in the inbound folder."

    def close(self) -> None:
        return None
