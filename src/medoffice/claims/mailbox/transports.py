"""Which transport a clearinghouse's settings name."""

from __future__ import annotations

from medoffice.claims.mailbox.base import (
    FOLDER,
    SFTP,
    MailboxConfig,
    MailboxError,
    Transport,
    check_folders_apart,
)
from medoffice.claims.mailbox.folder import FolderTransport
from medoffice.claims.mailbox.sftp import SftpTransport


def open_transport(config: MailboxConfig) -> Transport:
    """The transport for `config`; refused before anything is opened when its folders are not
    apart (one inside another)."""
    check_folders_apart(config)
    if config.kind == SFTP:
        return SftpTransport(config)
    if config.kind == FOLDER:
        return FolderTransport(config)
    raise MailboxError(f"Unknown transport {config.kind!r}: choose sftp or folder.", code="invalid")
