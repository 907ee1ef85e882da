"""Encounters, charges, claims and the clearinghouse mailbox's records."""

from __future__ import annotations

from medoffice.claims.models_mailbox import (  # noqa: F401  (the mailbox's tables)
    AfterCollect,
    Clearinghouse,
    MailboxReceipt,
    MailboxSubmission,
    ReceiptKind,
    SecretKind,
    SubmissionStatus,
    TransportKind,
)
