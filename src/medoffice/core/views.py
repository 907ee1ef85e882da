"""Pages of the foundation: approvals, the audit trail, emergency access, API tokens, practice."""

from __future__ import annotations

from datetime import date
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.core import services
from medoffice.core.access import get_for_user, has_perm, require_perm
from medoffice.core.exceptions import MedofficeError, NotFound, NotPermitted
from medoffice.core.exports import audit_csv
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import ApprovalRequest, AuditAction, EmergencyAccessGrant
from medoffice.core.permissions import Perm
from medoffice.core.selectors import audit_search as search_audit
from medoffice.core.selectors import emergency_grants_to_review

M = TypeVar("M", bound=Model)


def permission_required(*perms: str):
    """Page decorator: 403 unless the user holds one of the permissions; someone not signed in
    is sent to the sign-in page first (as login_required would), never shown a 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                require_perm(request.user, *perms)
            except NotPermitted as exc:
                raise PermissionDenied(exc.message) from exc
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def object_for_page(
    queryset: QuerySet[M],
    request: AuthenticatedHttpRequest,
    perm: str,
    *,
    pk: object,
    record_view: bool = True,
) -> M:
    """`get_for_user` for a page: an object that is not there is a 404, one the role does not
    cover a 403, each with the service's words."""
    try:
        return get_for_user(queryset, request.user, perm, pk=pk, record_view=record_view)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc


class refusal:
    """Around a service call on a page: a refusal by role is the page's 403; any other refusal
    is kept, its words and its errors by field, for the form to show, and the block stops."""

    def __init__(self) -> None:
        self.error: MedofficeError | None = None

    def __enter__(self) -> refusal:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, trace: object) -> bool:
        if isinstance(exc, NotPermitted):
            raise PermissionDenied(exc.message) from exc
        if isinstance(exc, MedofficeError):
            self.error = exc
            return True
        return False

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str:
        return self.error.message if self.error is not None else ""

    @property
    def errors(self) -> dict[str, str]:
        """One message a field: the service's errors by field, else its message on its field."""
        if self.error is None:
            return {}
        errors = {k: " ".join(v) for k, v in (getattr(self.error, "errors", {}) or {}).items()}
        if not errors and self.error.field:
            errors[self.error.field] = self.error.message
        return errors


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- Approvals ---------------------------------------------------------------------------------


@login_required
def approvals(request: AuthenticatedHttpRequest) -> HttpResponse:
    waiting = services.pending_for(request.user)
    mine = ApprovalRequest.objects.filter(requested_by=request.user).select_related("decided_by")[
        :50
    ]
    return render(request, "core/approvals.html", {"waiting": waiting, "mine": mine})


@login_required
@require_POST
def approval_decide(request: AuthenticatedHttpRequest, request_id: int) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    try:
        decided = services.approval_decide(
            request_id=request_id,
            decided_by=request.user,
            approve=approve,
            note=request.POST.get("note", ""),
        )
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Request #{decided.pk} {decided.get_status_display().lower()}.")
    return redirect("core:approvals")


# --- Audit trail -------------------------------------------------------------------------------


def _audit_filters(request: HttpRequest) -> dict:
    patient = request.GET.get("patient", "").strip()[:100]
    return {
        "user_query": request.GET.get("user", "").strip()[:100],
        "patient_id": patient if patient.isdigit() else "",
        "patient_query": "" if patient.isdigit() else patient,
        "object_query": request.GET.get("object", "").strip()[:100],
        "object_type": request.GET.get("object_type", "").strip(),
        "object_id": request.GET.get("object_id", "").strip(),
        "action": request.GET.get("action", "").strip(),
        "date_from": _parse_date(request.GET.get("from")),
        "date_to": _parse_date(request.GET.get("to")),
        "flagged_only": request.GET.get("flagged") == "1",
    }


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@permission_required(Perm.VIEW_AUDIT)
def audit_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    from medoffice.core.audit_display import present
    from medoffice.core.selectors import practice_time_zone

    filters = _audit_filters(request)
    page = Paginator(search_audit(**filters), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit.html",
        {"page": page, "rows": present(page.object_list, request.user), "filters": request.GET,
         "actions": AuditAction.choices, "time_zone": practice_time_zone(),
         "can_export": has_perm(request.user, Perm.EXPORT_AUDIT), "query": _without_page(request)},
    )  # fmt: skip


@login_required
@permission_required(Perm.EXPORT_AUDIT)
def audit_export(request: AuthenticatedHttpRequest) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        audit_csv(_audit_filters(request), user=request.user), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


# --- Emergency access -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def emergency_open(request: AuthenticatedHttpRequest) -> HttpResponse:
    """State a reason to open one record outside your role; the grant expires and is flagged."""
    from django.apps import apps

    source = request.POST if request.method == "POST" else request.GET
    object_type, object_id, perm = (
        source.get("object_type", ""),
        source.get("object_id", ""),
        source.get("perm", ""),
    )
    next_url = source.get("next", "")
    try:
        model = apps.get_model(object_type)
        obj = model._default_manager.get(pk=object_id)
    except (LookupError, ValueError, TypeError) as exc:
        raise PermissionDenied("Unknown record.") from exc
    except Exception as exc:  # the model's DoesNotExist
        raise PermissionDenied("Unknown record.") from exc
    error = ""
    if request.method == "POST":
        try:
            services.emergency_access_open(
                user=request.user, obj=obj, perm=perm, reason=request.POST.get("reason", "")
            )
        except MedofficeError as exc:
            error = exc.message
        else:
            messages.warning(
                request, "Emergency access granted for one hour. It is flagged for the auditors."
            )
            from django.utils.http import url_has_allowed_host_and_scheme

            if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                return redirect(next_url)
            return redirect(settings.LOGIN_REDIRECT_URL)  # the home page
    return render(
        request, "core/emergency_open.html",
        {"object_type": object_type, "object_id": object_id, "perm": perm, "next": next_url, "error": error,
         "label": str(obj._meta.verbose_name)},
    )  # fmt: skip


@login_required
@permission_required(Perm.REVIEW_EMERGENCY_ACCESS)
def emergency_review(request: AuthenticatedHttpRequest) -> HttpResponse:
    grants = EmergencyAccessGrant.objects.select_related("user", "reviewed_by")[:200]
    return render(request, "core/emergency_review.html",
                  {"grants": grants, "open_count": emergency_grants_to_review().count()})  # fmt: skip


@login_required
@permission_required(Perm.REVIEW_EMERGENCY_ACCESS)
@require_POST
def emergency_review_one(request: AuthenticatedHttpRequest, grant_id: int) -> HttpResponse:
    try:
        services.emergency_access_review(
            grant_id=grant_id, reviewer=request.user, note=request.POST.get("note", "")
        )
    except MedofficeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Marked as reviewed.")
    return redirect("core:emergency_review")


# --- API tokens ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    new_token = ""
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                services.api_token_revoke(user=request.user, token_id=int(request.POST["revoke"]))
                messages.success(request, "Token revoked.")
            else:
                _, new_token = services.api_token_create(
                    user=request.user, name=request.POST.get("name", "")
                )
        except (MedofficeError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "Invalid request."))
    tokens = request.user.api_tokens.order_by("-created_at")
    return render(request, "core/api_tokens.html", {"tokens": tokens, "new_token": new_token})
