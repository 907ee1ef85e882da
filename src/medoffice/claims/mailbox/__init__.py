"""The clearinghouse mailbox: one interface (`Transport`), several transports.

Plain Python (no Django): the claims services give a transport a `MailboxConfig` built from
a clearinghouse's settings and decide what is filed; a transport only moves bytes.
"""

from medoffice.claims.mailbox.base import (
    MailboxConfig,
    MailboxError,
    RemoteFile,
    Transport,
    check_name,
)
from medoffice.claims.mailbox.transports import open_transport

__all__ = [
    "MailboxConfig",
    "MailboxError",
    "RemoteFile",
    "Transport",
    "check_name",
    "open_transport",
]
