"""Encounters, charges, claims and the clearinghouse mailbox's records: one module a concern
(`mailbox`: the clearinghouses, what was sent and what was received)."""

from __future__ import annotations

from medoffice.claims.models.mailbox import (
    AfterCollect,
    Clearinghouse,
    MailboxReceipt,
    MailboxSubmission,
    ReceiptKind,
    SecretKind,
    SubmissionStatus,
    TransportKind,
    receipt_path,
)

__all__ = [
    "AfterCollect",
    "Clearinghouse",
    "MailboxReceipt",
    "MailboxSubmission",
    "ReceiptKind",
    "SecretKind",
    "SubmissionStatus",
    "TransportKind",
    "receipt_path",
]
