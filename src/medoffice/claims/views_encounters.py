"""The encounter pages: the list of visits to code and the coding page, with code search as
you type (HTML fragments for htmx). Thin: the rules are in `claims.encounters`, the reads in
`claims.selectors`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from medoffice.claims import charges, claims_services, selectors
from medoffice.claims import encounters as services
from medoffice.claims.encounters import LineInput
from medoffice.claims.models import (
    MAX_DIAGNOSES,
    MAX_MODIFIERS,
    MAX_POINTERS,
    EncounterStatus,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.access import has_perm
from medoffice.core.exceptions import MedofficeError, NotFound, NotPermitted
from medoffice.core.formats import money
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required
from medoffice.ledger.models import to_dollars

BLANK_LINES = 2
MAX_FORM_LINES = 30
CODING_PERMS = (ClaimsPerm.CODE, ClaimsPerm.CODE_OWN)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _encounter(request: AuthenticatedHttpRequest, encounter_id: int) -> Any:
    try:
        return selectors.encounter_for_user(request.user, encounter_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc


# --- The list ---------------------------------------------------------------------------------


@login_required
@permission_required(ClaimsPerm.VIEW, *CODING_PERMS)
def encounter_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    statuses = (
        (status,)
        if status in EncounterStatus.values
        else (EncounterStatus.DRAFT, EncounterStatus.CODED)
    )
    provider_id = request.GET.get("provider", "")
    since, until = _day(request.GET.get("since")), _day(request.GET.get("until"))
    every = selectors.sees_every_encounter(request.user)
    rows = selectors.encounters_to_code(
        request.user,
        statuses=statuses,
        provider_id=int(provider_id) if provider_id.isdigit() and every else None,
        since=since,
        until=until,
    )
    return render(request, "claims/encounter_list.html", {
        "encounters": rows,
        "providers": selectors.coding_providers() if every else [],
        "every": every,
        "filters": {"status": status, "provider": provider_id,
                    "since": since.isoformat() if since else "",
                    "until": until.isoformat() if until else ""},
        "statuses": EncounterStatus.choices,
        "shown": selectors.ENCOUNTERS_SHOWN,
    })  # fmt: skip


@login_required
@require_POST
@permission_required(*CODING_PERMS)
def encounter_from_appointment(request: AuthenticatedHttpRequest, appointment_id: int):
    from medoffice.scheduling.models import Appointment

    appointment = get_object_or_404(Appointment, pk=appointment_id)
    try:
        made = services.encounter_from_appointment(actor=request.user, appointment=appointment)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        messages.error(request, exc.message)
        return redirect("claims:encounters")
    return redirect("claims:encounter", made.pk)


# --- The coding page --------------------------------------------------------------------------


def _errors_by_place(errors: dict[str, list[str]]) -> tuple[dict, dict, dict]:
    """Errors keyed as the service keys them, sorted into: the diagnoses' (by position), the
    lines' (by line, then field: code, modifiers, units, charge, pointers, ndc), the rest."""
    diagnoses: dict[int, str] = {}
    lines: dict[int, dict[str, str]] = {}
    other: dict[str, str] = {}
    for key, messages_ in errors.items():
        parts = key.split(".")
        text = " ".join(messages_)
        if parts[0] == "diagnoses" and len(parts) > 1 and parts[1].isdigit():
            diagnoses[int(parts[1])] = text
        elif parts[0] == "lines" and len(parts) > 2 and parts[1].isdigit():
            place = parts[2] if parts[2] not in ("ndc_quantity", "ndc_unit") else "ndc"
            row = lines.setdefault(int(parts[1]), {})
            row[place] = f"{row[place]} {text}" if place in row else text
        else:
            other[key] = text
    return diagnoses, lines, other


def _typed_lines(post: Any) -> list[dict[str, Any]]:
    """The rows as typed, up to the last one filled in: a row left blank before it stays (the
    rows keep the page's numbers, which the errors name); `filled` marks the lines to save."""
    rows: list[dict[str, Any]] = []
    last = 0
    for n in range(1, MAX_FORM_LINES + 1):
        row = {
            "code": post.get(f"line_{n}_code", "").strip(),
            "modifiers": [post.get(f"line_{n}_mod_{m}", "").strip()
                          for m in range(1, MAX_MODIFIERS + 1)],
            "units": post.get(f"line_{n}_units", "").strip(),
            "charge": post.get(f"line_{n}_charge", "").strip(),
            "pointers": [post.get(f"line_{n}_ptr_{p}", "").strip()
                         for p in range(1, MAX_POINTERS + 1)],
            "ndc": post.get(f"line_{n}_ndc", "").strip(),
            "ndc_quantity": post.get(f"line_{n}_ndc_quantity", "").strip(),
            "ndc_unit": post.get(f"line_{n}_ndc_unit", "").strip(),
            "n": n,
        }  # fmt: skip
        row["filled"] = bool(row["code"] or row["charge"] or any(row["modifiers"]) or row["ndc"])
        rows.append(row)
        last = n if row["filled"] else last
    return rows[:last]


def _saved_lines(encounter: Any) -> list[dict[str, Any]]:
    """The saved lines; on an editable encounter a charge the fee schedule gives is left out of
    its box (shown as the placeholder), so a changed code or units is charged anew."""
    editable = encounter.status != EncounterStatus.READY
    rows = []
    for line in encounter.lines.all():
        amount = f"{to_dollars(line.charge_cents):.2f}"
        schedule, warning = services.charge_check(line, encounter.date_of_service)
        scheduled = editable and line.charge_cents == schedule
        rows.append({
            "code": line.code,
            "modifiers": [*line.modifiers, *[""] * (MAX_MODIFIERS - len(line.modifiers))],
            "units": str(line.units),
            "charge": "" if scheduled else amount,
            "amount": amount,
            "scheduled": amount if scheduled else "",
            "pointers": [str(p) for p in line.diagnosis_pointers]
            + [""] * (MAX_POINTERS - len(line.diagnosis_pointers)),
            "ndc": line.ndc,
            "ndc_quantity": "" if line.ndc_quantity is None else f"{line.ndc_quantity.normalize()}",
            "ndc_unit": line.ndc_unit,
            "warning": warning,
        })  # fmt: skip
    return rows


def _blank_line() -> dict[str, Any]:
    return {"code": "", "modifiers": [""] * MAX_MODIFIERS, "units": "1", "charge": "",
            "pointers": [""] * MAX_POINTERS, "ndc": "", "ndc_quantity": "", "ndc_unit": ""}  # fmt: skip


def _page(
    request: AuthenticatedHttpRequest,
    encounter: Any,
    *,
    diagnoses: list[str] | None = None,
    lines: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    from medoffice.core.models import Provider

    codes = diagnoses if diagnoses is not None else [d.code for d in encounter.diagnoses.all()]
    rows = lines if lines is not None else _saved_lines(encounter)
    dx_errors, line_errors, other_errors = _errors_by_place(errors or {})
    editable = encounter.status != EncounterStatus.READY
    if editable:
        rows = rows + [_blank_line() for _ in range(BLANK_LINES)]
    for number, row in enumerate(rows, start=1):
        row["n"] = number
        row["errors"] = line_errors.get(number, {})
    dx_rows = [
        {"n": n, "code": codes[n - 1] if n <= len(codes) else "", "error": dx_errors.get(n, "")}
        for n in range(1, MAX_DIAGNOSES + 1)
    ]
    details = details or {
        "prior_authorization": encounter.prior_authorization,
        "referring_provider_name": encounter.referring_provider_name,
        "referring_provider_npi": encounter.referring_provider_npi,
        "supervising_provider": str(encounter.supervising_provider_id or ""),
    }
    coverage = selectors.responsible_coverage(encounter)
    total = sum(line.charge_cents for line in encounter.lines.all())
    claims = list(encounter.claims.select_related("payer").order_by("pk"))
    return render(request, "claims/encounter.html", {
        "encounter": encounter,
        "dx_rows": dx_rows,
        "dx_count": len([c for c in codes if c]),
        "lines": rows,
        "details": details,
        "errors": errors or {},
        "other_errors": other_errors,
        "editable": editable,
        "may_finalize": services.may_finalize(request.user),
        "coverage": coverage,
        "claims": claims,
        "rejected_claim": claims_services.rebuildable_claim(encounter, claims),
        "may_build_claim": services.may_finalize(request.user)
        or has_perm(request.user, ClaimsPerm.SUBMIT),
        "total": money(to_dollars(total)),
        "receivable": [(name, money(amount)) for name, amount in charges.receivable_now(encounter)]
        if encounter.status == EncounterStatus.READY else [],
        # The active providers, and the one the visit has already if no longer active.
        "providers": Provider.objects.filter(
            Q(is_active=True) | Q(pk=encounter.supervising_provider_id or 0)
        ).order_by("last_name", "first_name", "pk"),
        "modifier_places": range(1, MAX_MODIFIERS + 1),
        "pointer_places": range(1, MAX_POINTERS + 1),
        "pointer_choices": range(1, MAX_DIAGNOSES + 1),
        "ndc_units": services.NDC_UNITS.items(),
    }, status=status)  # fmt: skip


@login_required
@permission_required(ClaimsPerm.VIEW, *CODING_PERMS)
def encounter_page(request: AuthenticatedHttpRequest, encounter_id: int) -> HttpResponse:
    encounter = _encounter(request, encounter_id)
    if request.method != "POST":
        return _page(request, encounter)
    if not selectors.may_code(request.user, encounter):
        raise PermissionDenied("This encounter is another provider's visit.")
    action = request.POST.get("action", "save")
    diagnoses = [request.POST.get(f"dx_{n}", "").strip() for n in range(1, MAX_DIAGNOSES + 1)]
    diagnoses = [code for code in diagnoses if code]
    rows = _typed_lines(request.POST)
    supervising_id = request.POST.get("supervising_provider", "")
    details = {
        "prior_authorization": request.POST.get("prior_authorization", ""),
        "referring_provider_name": request.POST.get("referring_provider_name", ""),
        "referring_provider_npi": request.POST.get("referring_provider_npi", ""),
        "supervising_provider": supervising_id,
    }
    saved = False
    try:
        supervising = services.encounter_provider(
            supervising_id, field="supervising_provider", role="supervising",
            current_id=encounter.supervising_provider_id,
        )  # fmt: skip
        services.encounter_code(
            actor=request.user,
            encounter_id=encounter.pk,
            diagnoses=diagnoses,
            lines=[
                LineInput(
                    code=row["code"],
                    modifiers=row["modifiers"],
                    units=row["units"] or 1,
                    charge=row["charge"] or None,
                    pointers=row["pointers"],
                    ndc=row["ndc"],
                    ndc_quantity=row["ndc_quantity"] or None,
                    ndc_unit=row["ndc_unit"],
                    number=row["n"],
                )
                for row in rows
                if row["filled"]
            ],
            supervising_provider=supervising,
            referring_provider_name=details["referring_provider_name"],
            referring_provider_npi=details["referring_provider_npi"],
            prior_authorization=details["prior_authorization"],
        )
        saved = True
        if action == "mark_coded":
            services.encounter_mark_coded(actor=request.user, encounter_id=encounter.pk)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        errors = getattr(exc, "errors", None) or {exc.field or "form": [exc.message]}
        fresh = _encounter(request, encounter.pk)
        if saved:  # the codes are saved; marking them coded found them incomplete
            return _page(request, fresh, errors=errors, status=422)
        return _page(request, fresh, diagnoses=diagnoses, lines=rows, details=details,
                     errors=errors, status=422)  # fmt: skip
    messages.success(request, "Marked coded." if action == "mark_coded" else "The codes are saved.")
    return redirect("claims:encounter", encounter.pk)


@login_required
@require_POST
@permission_required(ClaimsPerm.CODE)
def encounter_finalize(request: AuthenticatedHttpRequest, encounter_id: int) -> HttpResponse:
    encounter = _encounter(request, encounter_id)
    try:
        services.encounter_finalize(actor=request.user, encounter_id=encounter.pk)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        errors = getattr(exc, "errors", None) or {exc.field or "form": [exc.message]}
        return _page(request, _encounter(request, encounter.pk), errors=errors, status=422)
    messages.success(request, "Finalized: the charges are posted.")
    return redirect("claims:encounter", encounter.pk)


@login_required
@require_POST
@permission_required(ClaimsPerm.CODE)
def encounter_reopen(request: AuthenticatedHttpRequest, encounter_id: int) -> HttpResponse:
    encounter = _encounter(request, encounter_id)
    try:
        services.encounter_reopen(
            actor=request.user, encounter_id=encounter.pk, reason=request.POST.get("reason", "")
        )
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        errors = {exc.field or "form": [exc.message]}
        return _page(request, _encounter(request, encounter.pk), errors=errors, status=422)
    messages.success(request, "Reopened: the charges are reversed; finalize again to post anew.")
    return redirect("claims:encounter", encounter.pk)


# --- Code search (fragments) ------------------------------------------------------------------


def _typed(request: AuthenticatedHttpRequest) -> str:
    """What was typed: `q`, or the value of the input that asked (htmx sends it by its name)."""
    text = str(request.GET.get("q", ""))
    if not text:
        typed = (str(v) for k, v in request.GET.items() if k != "day" and str(v).strip())
        text = next(typed, "")
    return text.strip()[:60]


@login_required
@require_GET
@permission_required(ClaimsPerm.VIEW, *CODING_PERMS)
def diagnosis_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    text = _typed(request)
    found = selectors.diagnosis_options(text) if len(text) >= 2 else []
    return render(request, "claims/_encounter_dx_options.html", {"found": found})


@login_required
@require_GET
@permission_required(ClaimsPerm.VIEW, *CODING_PERMS)
def procedure_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    text = _typed(request)
    day = _day(request.GET.get("day"))
    found = selectors.procedure_options(text, day) if len(text) >= 2 else []
    return render(request, "claims/_encounter_proc_options.html", {"found": found})


@login_required
@require_POST
@permission_required(ClaimsPerm.CODE, ClaimsPerm.SUBMIT)
def encounter_build_claim(request: AuthenticatedHttpRequest, encounter_id: int) -> HttpResponse:
    """The finalized visit's claim for its primary coverage, built and scrubbed at once."""
    from medoffice.claims import scrubber

    encounter = _encounter(request, encounter_id)
    try:
        claim = claims_services.claim_build(actor=request.user, encounter=encounter)
        result = scrubber.scrub_one(actor=request.user, claim=claim)
    except MedofficeError as exc:
        errors = {exc.field or "form": [exc.message]}
        return _page(request, _encounter(request, encounter.pk), errors=errors, status=422)
    found = (
        f"{result.errors} error(s), {result.warnings} warning(s)"
        if result.findings
        else "the scrubber found nothing, it is ready"
    )
    messages.success(request, f"Claim {claim.control_number} built: {found}.")
    return redirect("claims:claim_detail", claim.pk)
