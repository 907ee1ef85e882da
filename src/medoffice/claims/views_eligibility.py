"""The desk's "Check eligibility" (a 270 sent through the clearinghouse, answered by its 271)
and the 270 file for a payer portal when no clearinghouse is set up. Thin: they read the
posted token (the request's idempotency key), call one service and show its words; htmx
swaps the coverage's eligibility box, a plain post goes back to the page it came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from medoffice.claims import eligibility_requests as services
from medoffice.claims import eligibility_selectors as selectors
from medoffice.claims.models import EligibilityRequest, RequestStatus
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core import audit
from medoffice.core.exceptions import MedofficeError, NotFound, NotPermitted
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import AuditAction
from medoffice.core.views import permission_required
from medoffice.patients.models import Coverage
from medoffice.patients.selectors import coverage_for_user

FIELD = "eligibility_token"  # the button's one-time key (claims_eligibility template tag)


def _coverage(request: AuthenticatedHttpRequest, coverage_id: int) -> Coverage:
    try:
        return coverage_for_user(request.user, coverage_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc


def _back(request: AuthenticatedHttpRequest, coverage: Coverage) -> HttpResponse:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("patients:detail", args=[coverage.patient_id])
    return redirect(target)


def _box(
    request: AuthenticatedHttpRequest, coverage: Coverage, *, message="", error="", status=200
):
    (row,) = selectors.coverage_eligibility([coverage], request.user)
    row.message, row.error = message, error
    return render(
        request,
        "claims/_coverage_eligibility.html",
        {
            "e": row,
            "next": request.POST.get("next", ""),
            "in_form": request.POST.get("in_form") == "1",
        },
        status=status,
    )


def _words(made: EligibilityRequest) -> tuple[str, str]:
    """(message, error) for the desk."""
    if made.status == RequestStatus.FAILED:
        return "", f"The eligibility request was not sent: {made.error}"
    if made.status == RequestStatus.ANSWERED:
        return "The payer has answered this request.", ""
    where = made.clearinghouse.name if made.clearinghouse else "the clearinghouse"
    return (
        f"Eligibility request sent to {where} (trace {made.trace_number}); the answer shows "
        "here when the 271 comes back.",
        "",
    )


@login_required
@permission_required(ClaimsPerm.CHECK_ELIGIBILITY)
@require_POST
def eligibility_send(request: AuthenticatedHttpRequest, coverage_id: int) -> HttpResponse:
    coverage = _coverage(request, coverage_id)
    message = error = ""
    try:
        made = services.request_eligibility(
            coverage, request.user, idempotency_key=request.POST.get(FIELD, "")[-100:]
        )
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        error = exc.message
    else:
        message, error = _words(made)
    if request.headers.get("HX-Request"):
        return _box(request, coverage, message=message, error=error, status=200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    return _back(request, coverage)


@login_required
@permission_required(ClaimsPerm.CHECK_ELIGIBILITY)
@require_POST
def eligibility_file(request: AuthenticatedHttpRequest, coverage_id: int) -> HttpResponse:
    """Write the 270 for a payer portal and download it (its answer is uploaded on the
    responses page)."""
    coverage = _coverage(request, coverage_id)
    try:
        made = services.eligibility_file(
            coverage, request.user, idempotency_key=request.POST.get(FIELD, "")[-100:]
        )
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        messages.error(request, exc.message)
        return _back(request, coverage)
    return redirect("claims:eligibility_download", request_id=made.pk)


@login_required
@permission_required(ClaimsPerm.CHECK_ELIGIBILITY)
@require_GET
def eligibility_download(request: AuthenticatedHttpRequest, request_id: int) -> HttpResponse:
    """The 270 as written: it names the patient, so the download is on the audit trail."""
    try:
        found = selectors.request_by_id(request_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    _coverage(request, found.coverage_id)
    audit.record(
        AuditAction.DOWNLOAD, obj=found, reason="270 eligibility request file",
        patient_id=found.coverage.patient_id,
    )  # fmt: skip
    response = HttpResponse(bytes(found.content), content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{found.file_name}"'
    return response
