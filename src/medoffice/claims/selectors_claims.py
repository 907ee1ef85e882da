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
    EncounterDiagnosis,
    ScrubFinding,
    ServiceLine,
)
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.formats import money

# The worklist's tabs: every status on exactly one tab, in the order a claim moves through
# them, so the tabs' counts add up to the "All" count.
WORKLIST_STATUSES = (
    ClaimStatus.DRAFT, ClaimStatus.SCRUB_ERRORS, ClaimStatus.READY, ClaimStatus.BATCHED,
    ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.REJECTED, ClaimStatus.PAID,
    ClaimStatus.DENIED, ClaimStatus.VOID,
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
    counts: dict[str, int] = field(default_factory=dict)  # per status, under the other filters
    truncated: bool = False
    visit_changed: dict[int, list[str]] = field(default_factory=dict)  # claim id: how

    @property
    def all_count(self) -> int:
        """The "All" tab: the claims the filters other than the status pick."""
        return sum(self.counts.values())


def claims_matching(filters: WorklistFilters, *, today: date) -> QuerySet[Claim]:
    """The claims the filters pick, sorted (the worklist's and the API's list)."""
    if filters.status and filters.status not in ClaimStatus.values:
        raise InvalidInput(
            f"Status: {filters.status!r} is not one of {', '.join(ClaimStatus.values)}.",
            field="status",
        )
    if filters.sort not in SORTS:
        raise InvalidInput(f"Sort: one of {', '.join(SORTS)}.", field="sort")
    found = _filtered_but_status(filters, today=today)
    if filters.status:
        found = found.filter(status=filters.status)
    return found.order_by(*SORTS[filters.sort])


def _filtered_but_status(filters: WorklistFilters, *, today: date) -> QuerySet[Claim]:
    """The claims the payer, provider, age and amount filters pick (every status)."""
    found = Claim.objects.all()
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
    return found


def worklist(filters: WorklistFilters, *, today: date, limit: int = MAX_ROWS) -> Worklist:
    """The worklist page: the matching claims (at most `limit`) with their patient, payer,
    provider and findings, the total matching, the count per status for the tabs (under the
    same payer, provider, age and amount filters, so the tabs add up to "All"), and which sent
    claims' visits were corrected since."""
    found = claims_matching(filters, today=today)
    total = found.count()
    rows = list(
        found.select_related("encounter__patient", "encounter__rendering_provider", "payer")
        .prefetch_related(Prefetch("findings", ScrubFinding.objects.order_by("severity", "line_number", "id")))[:limit]
    )  # fmt: skip
    counts: dict[str, int] = {str(status): 0 for status in WORKLIST_STATUSES}
    counts.update(
        _filtered_but_status(filters, today=today).order_by()
        .values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )  # fmt: skip
    return Worklist(
        claims=rows, total=total, counts=counts, truncated=total > len(rows),
        visit_changed=visit_changes_of(rows),
    )  # fmt: skip


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
    or when the claim is not out with the payer."""
    return visit_changes_of([claim]).get(claim.pk, [])


def visit_changes_of(claims: list[Claim]) -> dict[int, list[str]]:
    """`visit_changes` of many claims (a worklist page) in four queries: the claims' lines and
    diagnoses and their visits' now. Only claims whose visit changed are keys."""
    out = [c for c in claims if c.status in SENT and c.frequency_code != "8"]
    if not out:
        return {}
    claim_ids = [c.pk for c in out]
    visit_ids = {c.encounter_id for c in out}
    billed = _grouped(ClaimLine.objects.filter(claim_id__in=claim_ids), "claim_id")
    now = _grouped(ServiceLine.objects.filter(encounter_id__in=visit_ids), "encounter_id")
    claim_dx = _grouped(ClaimDiagnosis.objects.filter(claim_id__in=claim_ids), "claim_id")
    visit_dx = _grouped(
        EncounterDiagnosis.objects.filter(encounter_id__in=visit_ids), "encounter_id"
    )
    changes: dict[int, list[str]] = {}
    for claim in out:
        words = []
        encounter = claim.encounter
        if encounter.status != "ready":
            words.append(
                f"The visit is reopened ({encounter.get_status_display().lower()}) for correction."
            )
        sent_lines = _billed(billed.get(claim.pk, []))
        lines_now = _billed(now.get(claim.encounter_id, []))
        if sent_lines != lines_now:
            words.append(
                f"The claim bills {'; '.join(sent_lines) or 'no line'}; the visit now has "
                f"{'; '.join(lines_now) or 'no line'}."
            )
        sent_dx = [d.code for d in claim_dx.get(claim.pk, [])]
        dx_now = [d.code for d in visit_dx.get(claim.encounter_id, [])]
        if sent_dx != dx_now:
            words.append(
                f"The claim's diagnoses are {', '.join(sent_dx) or 'none'}; the visit's now "
                f"{', '.join(dx_now) or 'none'}."
            )
        if words:
            changes[claim.pk] = words
    return changes


def _grouped(rows: QuerySet[Any], key: str) -> dict[int, list[Any]]:
    """Rows by `key`, each group in its model's order (line number, rank)."""
    groups: dict[int, list[Any]] = {}
    for row in rows:
        groups.setdefault(getattr(row, key), []).append(row)
    return groups
