"""The claims worklist and the claim page (thin: the rules are in claims_services and the
scrubber, the reads in selectors_claims)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from medoffice.claims import claims_services as services
from medoffice.claims import selectors_claims as selectors
from medoffice.claims.models import Claim, ClaimStatus
from medoffice.claims.permissions import ClaimsPerm
from medoffice.claims.scrubber import scrub_one
from medoffice.core.access import has_perm
from medoffice.core.exceptions import MedofficeError
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import Provider
from medoffice.core.views import object_for_page, permission_required
from medoffice.ledger.models import to_dollars
from medoffice.patients.models import Payer


def _int(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _cents(value: str) -> int | None:
    text = (value or "").strip().replace("$", "").replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or not 0 <= amount < 10**12:  # NaN, Infinity, absurd: no filter
        return None
    return int((amount * 100).to_integral_value())


@permission_required(ClaimsPerm.VIEW)
def worklist(request: AuthenticatedHttpRequest) -> HttpResponse:
    query = request.GET
    filters = selectors.WorklistFilters(
        status=query.get("status", ""),
        payer_id=_int(query.get("payer", "")),
        provider_id=_int(query.get("provider", "")),
        min_age_days=_int(query.get("min_age", "")),
        max_age_days=_int(query.get("max_age", "")),
        min_amount_cents=_cents(query.get("min_amount", "")),
        max_amount_cents=_cents(query.get("max_amount", "")),
        sort=query.get("sort", "-created") if query.get("sort") in selectors.SORTS else "-created",
    )
    if filters.status not in ClaimStatus.values:
        filters = selectors.WorklistFilters(**{**filters.__dict__, "status": ""})
    today = timezone.localdate()
    found = selectors.worklist(filters, today=today)
    for claim in found.claims:
        claim.total = to_dollars(claim.total_charge_cents)  # type: ignore[attr-defined]
        claim.age_days = (today - claim.encounter.date_of_service).days  # type: ignore[attr-defined]
        claim.visit_changed = found.visit_changed.get(claim.pk, [])  # type: ignore[attr-defined]
    tabs = [(s, ClaimStatus(s).label, found.counts.get(s, 0)) for s in selectors.WORKLIST_STATUSES]
    kept = {k: v for k, v in query.items() if k not in ("sort", "status") and v}
    return render(request, "claims/worklist.html", {
        "found": found, "filters": filters, "tabs": tabs, "query": query,
        "kept": urlencode(kept),
        "payers": Payer.objects.order_by("name"),
        "providers": Provider.objects.order_by("last_name", "first_name"),
        "sorts": [("-created", "Newest"), ("age", "Oldest service"), ("-amount", "Largest"),
                  ("amount", "Smallest"), ("payer", "Payer"), ("patient", "Patient")],
    })  # fmt: skip


def _claim(request: AuthenticatedHttpRequest, pk: int) -> Claim:
    queryset = Claim.objects.select_related(
        "encounter__patient", "encounter__rendering_provider", "payer", "coverage",
        "replaces", "warnings_overridden_by",
    )  # fmt: skip
    return object_for_page(queryset, request, ClaimsPerm.VIEW, pk=pk)


@permission_required(ClaimsPerm.VIEW)
def claim_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    claim = _claim(request, pk)
    detail = selectors.claim_detail(claim)
    user = request.user
    return render(request, "claims/claim_detail.html", {
        "d": detail, "claim": claim, "total": to_dollars(claim.total_charge_cents),
        "lines": [(line, to_dollars(line.charge_cents)) for line in detail.lines],
        "may_submit": has_perm(user, ClaimsPerm.SUBMIT),
        "may_override": has_perm(user, ClaimsPerm.OVERRIDE_WARNINGS),
        "scrubbable": claim.status in services.SCRUBBABLE,
        "changeable": claim.status in services.CHANGEABLE and claim.frequency_code != "8",
        "numberable": claim.status in services.CHANGEABLE,
        "visit_changes": selectors.visit_changes(claim),
        "warnings_only": claim.status == ClaimStatus.SCRUB_ERRORS
        and detail.findings and all(f.severity == "warning" for f in detail.findings),
    })  # fmt: skip


def _act(request: AuthenticatedHttpRequest, pk: int, action) -> HttpResponse:
    claim = _claim(request, pk)
    try:
        message, target = action(claim)
    except MedofficeError as exc:
        messages.error(request, exc.message)
        return redirect("claims:claim_detail", pk=claim.pk)
    messages.success(request, message)
    return redirect("claims:claim_detail", pk=target.pk)


@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def claim_scrub(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def run(claim: Claim):
        result = scrub_one(actor=request.user, claim=claim)
        if not result.findings:
            return f"Claim {claim.control_number} scrubbed clean: ready.", claim
        return (f"Claim {claim.control_number}: {result.errors} error(s), "
                f"{result.warnings} warning(s).", claim)  # fmt: skip

    return _act(request, pk, run)


@permission_required(ClaimsPerm.OVERRIDE_WARNINGS)
@require_POST
def claim_override(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def run(claim: Claim):
        services.claim_override_warnings(
            actor=request.user, claim=claim, reason=request.POST.get("reason", "")
        )
        return f"Claim {claim.control_number}: warnings overridden, ready.", claim

    return _act(request, pk, run)


@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def claim_void(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def run(claim: Claim):
        void = services.claim_void(
            actor=request.user, claim=claim, reason=request.POST.get("reason", "")
        )
        return f"Void claim {void.control_number} made for {claim.control_number}.", void

    return _act(request, pk, run)


@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def claim_replace(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def run(claim: Claim):
        made = services.claim_replace(
            actor=request.user, claim=claim, reason=request.POST.get("reason", "")
        )
        return f"Replacement claim {made.control_number} made for {claim.control_number}.", made

    return _act(request, pk, run)


@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def claim_payer_number(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def run(claim: Claim):
        services.claim_record_payer_number(
            actor=request.user, claim=claim, number=request.POST.get("number", "")
        )
        return f"Claim {claim.control_number}: the payer's claim number is recorded.", claim

    return _act(request, pk, run)
