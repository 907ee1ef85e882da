"""Reads of the clearinghouse mailbox: what was sent and received, filtered and sorted."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from medoffice.claims.models import (
    Clearinghouse,
    MailboxReceipt,
    MailboxSubmission,
    ReceiptKind,
    SubmissionStatus,
)

LIMIT = 200
SUBMISSION_SORTS = {
    "name": "name", "-name": "-name", "status": "status", "-status": "-status",
    "size": "size", "-size": "-size", "created": "created_at", "-created": "-created_at",
    "clearinghouse": "clearinghouse__name", "-clearinghouse": "-clearinghouse__name",
}  # fmt: skip
RECEIPT_SORTS = {
    "name": "name", "-name": "-name", "kind": "kind", "-kind": "-kind", "size": "size",
    "-size": "-size", "received": "received_at", "-received": "-received_at",
    "processed": "processed", "-processed": "-processed",
    "clearinghouse": "clearinghouse__name", "-clearinghouse": "-clearinghouse__name",
}  # fmt: skip


@dataclass(frozen=True)
class MailboxFilters:
    clearinghouse: int | None = None
    status: str = ""  # a SubmissionStatus
    kind: str = ""  # a ReceiptKind
    name: str = ""  # part of a file name
    unprocessed: bool = False
    sort_submissions: str = "-created"
    sort_receipts: str = "-received"


def clearinghouses() -> QuerySet[Clearinghouse]:
    return Clearinghouse.objects.order_by("name")


def active_clearinghouses() -> QuerySet[Clearinghouse]:
    return Clearinghouse.objects.filter(is_active=True).order_by("name")


def clearinghouse_named(name: str) -> Clearinghouse | None:
    return Clearinghouse.objects.filter(name__iexact=name.strip()).first()


def submission_named(clearinghouse: Clearinghouse, name: str) -> MailboxSubmission | None:
    return MailboxSubmission.objects.filter(clearinghouse=clearinghouse, name=name).first()


def submissions(filters: MailboxFilters) -> QuerySet[MailboxSubmission]:
    rows = MailboxSubmission.objects.select_related("clearinghouse", "sent_by")
    if filters.clearinghouse:
        rows = rows.filter(clearinghouse_id=filters.clearinghouse)
    if filters.status in SubmissionStatus.values:
        rows = rows.filter(status=filters.status)
    if filters.name:
        rows = rows.filter(name__icontains=filters.name)
    order = SUBMISSION_SORTS.get(filters.sort_submissions, "-created_at")
    return rows.order_by(order, "-pk")[:LIMIT]


def receipts(filters: MailboxFilters) -> QuerySet[MailboxReceipt]:
    rows = MailboxReceipt.objects.select_related("clearinghouse").defer("detail")
    if filters.clearinghouse:
        rows = rows.filter(clearinghouse_id=filters.clearinghouse)
    if filters.kind in ReceiptKind.values:
        rows = rows.filter(kind=filters.kind)
    if filters.name:
        rows = rows.filter(name__icontains=filters.name)
    if filters.unprocessed:
        rows = rows.filter(processed=False)
    order = RECEIPT_SORTS.get(filters.sort_receipts, "-received_at")
    return rows.order_by(order, "-pk")[:LIMIT]


def submission_with_key(clearinghouse: Clearinghouse, key: str) -> MailboxSubmission | None:
    """The file sent to the clearinghouse under this idempotency key, if one was."""
    return MailboxSubmission.objects.filter(
        clearinghouse=clearinghouse, idempotency_key=key
    ).first()
