"""Which transport a clearinghouse's settings name."""

from __future__ import annotations

from medoffice.claims.mailbox.base import FOLDER, SFTP, MailboxConfig, MailboxError, Transport
from medoffice.claims.mailbox.folder import FolderTransport
from medoffice.claims.mailbox.sftp import SftpTransport


def open_transport(config: MailboxConfig) -> Transport:
    if config.kind == SFTP:
        return SftpTransport(config)
    if config.kind == FOLDER:
        return FolderTransport(config)
    raise MailboxError(f"Unknown transport {config.kind!r}: choose sftp or folder.", code="invalid")
