"""Claims' reads: the worklist (by status, filtered and sorted, with the scrubber's findings)
and one claim with its diagnoses, lines, findings and history. A fixed number of queries
each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from medoffice.claims.models import (
    Claim,
    ClaimDiagnosis,
    ClaimEvent,
    ClaimLine,
    ClaimStatus,
    ScrubFinding,
)
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.formats import money

WORKLIST_STATUSES = (
    ClaimStatus.DRAFT, ClaimStatus.SCRUB_ERRORS, ClaimStatus.READY, ClaimStatus.SUBMITTED,
    ClaimStatus.ACCEPTED, ClaimStatus.REJECTED, ClaimStatus.PAID, ClaimStatus.DENIED,
)  # fmt: skip
SORTS = {
    "age": ("encounter__date_of_service", "pk"),  # oldest service first
    "-age": ("-encounter__date_of_service", "-pk"),
    "amount": ("total_charge_cents", "pk"),
    "-amount": ("-total_charge_cents", "-pk"),
    "payer": ("payer__name", "pk"),
    "patient": ("encounter__patient__last_name", "encounter__patient__first_name", "pk"),
    "number": ("control_number",),
    "-created": ("-created_at", "-pk"),
}
MAX_ROWS = 500


@dataclass(frozen=True)
class WorklistFilters:
    status: str = ""
    payer_id: int | None = None
    provider_id: int | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None
    min_amount_cents: int | None = None
    max_amount_cents: int | None = None
    sort: str = "-created"


@dataclass
class Worklist:
    claims: list[Claim]
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    truncated: bool = False


def claims_matching(filters: WorklistFilters, *, today: date) -> QuerySet[Claim]:
    """The claims the filters pick, sorted (the worklist's and the API's list)."""
    if filters.status and filters.status not in ClaimStatus.values:
        raise InvalidInput(
            f"Status: {filters.status!r} is not one of {', '.join(ClaimStatus.values)}.",
            field="status",
        )
    if filters.sort not in SORTS:
        raise InvalidInput(f"Sort: one of {', '.join(SORTS)}.", field="sort")
    found = Claim.objects.all()
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.payer_id is not None:
        found = found.filter(payer_id=filters.payer_id)
    if filters.provider_id is not None:
        found = found.filter(encounter__rendering_provider_id=filters.provider_id)
    if filters.min_age_days is not None:  # at least this many days since the service
        found = found.filter(
            encounter__date_of_service__lte=today - timedelta(days=filters.min_age_days)
        )
    if filters.max_age_days is not None:
        found = found.filter(
            encounter__date_of_service__gte=today - timedelta(days=filters.max_age_days)
        )
    if filters.min_amount_cents is not None:
        found = found.filter(total_charge_cents__gte=filters.min_amount_cents)
    if filters.max_amount_cents is not None:
        found = found.filter(total_charge_cents__lte=filters.max_amount_cents)
    return found.order_by(*SORTS[filters.sort])


def worklist(filters: WorklistFilters, *, today: date, limit: int = MAX_ROWS) -> Worklist:
    """The worklist page: the matching claims (at most `limit`) with their patient, payer,
    provider and findings, the total matching, and the count per status for the tabs."""
    found = claims_matching(filters, today=today)
    total = found.count()
    rows = list(
        found.select_related("encounter__patient", "encounter__rendering_provider", "payer")
        .prefetch_related(Prefetch("findings", ScrubFinding.objects.order_by("severity", "line_number", "id")))[:limit]
    )  # fmt: skip
    counts = dict(
        Claim.objects.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )  # fmt: skip
    return Worklist(claims=rows, total=total, counts=counts, truncated=total > len(rows))


@dataclass
class ClaimDetail:
    claim: Claim
    diagnoses: list[ClaimDiagnosis]  # the claim's own, as billed (not the visit's current ones)
    lines: list[ClaimLine]
    findings: list[ScrubFinding]
    events: list[ClaimEvent]
    replaced_by: list[Claim]
    facts: dict[str, Any] = field(default_factory=dict)


def claim_detail(claim: Claim) -> ClaimDetail:
    """One claim's page: its diagnoses and lines as billed, latest findings, history and the
    claims that change it."""
    if claim.pk is None:
        raise NotFound("No such claim.")
    return ClaimDetail(
        claim=claim,
        diagnoses=list(ClaimDiagnosis.objects.filter(claim=claim).order_by("rank")),
        lines=list(ClaimLine.objects.filter(claim=claim).order_by("line_number")),
        findings=list(ScrubFinding.objects.filter(claim=claim).order_by("severity", "line_number", "id")),
        events=list(ClaimEvent.objects.filter(claim=claim).select_related("actor").order_by("at", "id")),
        replaced_by=list(Claim.objects.filter(replaces=claim).order_by("pk")),
    )  # fmt: skip


def claims_for_scrub(*, include_ready: bool) -> QuerySet[Claim]:
    """The claims `claims scrub` checks: drafts, those the scrubber held and rejected ones;
    with --all also the ready ones (scrubbed again)."""
    statuses = [ClaimStatus.DRAFT, ClaimStatus.SCRUB_ERRORS, ClaimStatus.REJECTED]
    if include_ready:
        statuses.append(ClaimStatus.READY)
    return Claim.objects.filter(status__in=statuses).order_by("pk")


SENT = (ClaimStatus.BATCHED, ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.PAID,
        ClaimStatus.DENIED)  # fmt: skip


def _billed(lines: Any) -> list[str]:
    return [
        " ".join([line.code + "".join(f"-{m}" for m in line.modifiers),
                  f"x{line.units}" if line.units != 1 else "", money(Decimal(line.charge_cents) / 100)])
        .replace("  ", " ")
        for line in lines
    ]  # fmt: skip


def visit_changes(claim: Claim) -> list[str]:
    """How the visit differs now from what a claim sent for it bills (the visit corrected after
    the claim went, which only a replacement tells the payer), in words; [] when it does not,
    or when the claim is not out with the payer. Three queries."""
    if claim.status not in SENT or claim.frequency_code == "8":
        return []
    encounter = claim.encounter
    changes = []
    if encounter.status != "ready":
        changes.append(
            f"The visit is reopened ({encounter.get_status_display().lower()}) for correction."
        )
    billed = _billed(ClaimLine.objects.filter(claim=claim).order_by("line_number"))
    now = _billed(encounter.lines.order_by("line_number"))
    if billed != now:
        changes.append(
            f"The claim bills {'; '.join(billed) or 'no line'}; the visit now has "
            f"{'; '.join(now) or 'no line'}."
        )
    claim_dx = list(
        ClaimDiagnosis.objects.filter(claim=claim).order_by("rank").values_list("code", flat=True)
    )
    visit_dx = list(encounter.diagnoses.order_by("rank").values_list("code", flat=True))
    if claim_dx != visit_dx:
        changes.append(
            f"The claim's diagnoses are {', '.join(claim_dx) or 'none'}; the visit's now "
            f"{', '.join(visit_dx) or 'none'}."
        )
    return changes
