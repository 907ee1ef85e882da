"""Reads of the batches page: the claims waiting for a batch, past batches with where they
went, one batch's claims, and the background jobs that build them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import CharField, Count, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from medoffice.claims.models import (
    BatchJob,
    Claim,
    ClaimBatch,
    ClaimStatus,
    Clearinghouse,
    MailboxSubmission,
)

LIMIT = 200
BATCH_SORTS = {
    "file": "file_name", "claims": "claim_count", "total": "total_charge_cents",
    "created": "created_at", "submitted": "submitted_at", "status": "sent_status",
}  # fmt: skip


def dollars(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@dataclass(frozen=True)
class PayerReady:
    payer: str
    claims: int
    total_cents: int

    @property
    def total(self) -> Decimal:
        return dollars(self.total_cents)


@dataclass(frozen=True)
class ReadySummary:
    payers: list[PayerReady]

    @property
    def claims(self) -> int:
        return sum(p.claims for p in self.payers)

    @property
    def total_cents(self) -> int:
        return sum(p.total_cents for p in self.payers)

    @property
    def total(self) -> Decimal:
        return dollars(self.total_cents)


def ready_to_batch() -> ReadySummary:
    """The claims a batch would take now, by payer, with their charges."""
    rows = (
        Claim.objects.filter(status=ClaimStatus.READY, batch__isnull=True)
        .values("payer__name")
        .annotate(claims=Count("pk"), total=Sum("total_charge_cents"))
        .order_by("payer__name")
    )
    return ReadySummary(
        payers=[
            PayerReady(payer=r["payer__name"], claims=r["claims"], total_cents=r["total"] or 0)
            for r in rows
        ]
    )


def active_clearinghouses() -> QuerySet[Clearinghouse]:
    return Clearinghouse.objects.filter(is_active=True).order_by("name")


def _latest_submission(field: str) -> Subquery:
    return Subquery(
        MailboxSubmission.objects.filter(name=OuterRef("file_name"))
        .order_by("-created_at", "-pk")
        .values(field)[:1]
    )


def batch_rows(sort: str = "-created") -> QuerySet[ClaimBatch]:
    """Past batches (without their files), each with its latest submission's status, error
    and clearinghouse; sorted by a column of BATCH_SORTS ("-" first reverses it)."""
    name = sort.removeprefix("-")
    if name in BATCH_SORTS:
        order = ("-" if sort.startswith("-") else "") + BATCH_SORTS[name]
    else:
        order = "-created_at"
    return (
        ClaimBatch.objects.defer("content")
        .annotate(
            sent_status=Coalesce(_latest_submission("status"), Value(""), output_field=CharField()),
            sent_error=_latest_submission("error"),
            sent_to=_latest_submission("clearinghouse__name"),
        )
        .order_by(order, "-pk")[:LIMIT]
    )


def batch(batch_id: int) -> ClaimBatch | None:
    return ClaimBatch.objects.defer("content").filter(pk=batch_id).first()


def batch_submissions(batch: ClaimBatch) -> QuerySet[MailboxSubmission]:
    return MailboxSubmission.objects.filter(name=batch.file_name).select_related("clearinghouse")


def batch_claims(batch: ClaimBatch) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(batch=batch)
        .select_related("encounter__patient", "payer")
        .order_by("payer__name", "control_number")
    )


def batch_patient_ids(batch: ClaimBatch) -> list[int]:
    return list(
        Claim.objects.filter(batch=batch).values_list("encounter__patient_id", flat=True).distinct()
    )


def job(job_id: int) -> BatchJob | None:
    return (
        BatchJob.objects.select_related("clearinghouse", "batch", "submission", "requested_by")
        .defer("batch__content")
        .filter(pk=job_id)
        .first()
    )


def recent_jobs(limit: int = 5) -> QuerySet[BatchJob]:
    return BatchJob.objects.select_related("clearinghouse", "batch", "requested_by").defer(
        "batch__content"
    )[:limit]
