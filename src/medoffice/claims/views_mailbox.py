"""The clearinghouse mailbox's pages: the clearinghouses' settings (the secret is write-only:
never shown back), a connection test, and what was sent and received with "Collect now".
Thin: they read the form, call one service or selector, show its words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.claims import mailbox_selectors as selectors
from medoffice.claims import mailbox_services as services
from medoffice.claims.models import (
    AfterCollect,
    Clearinghouse,
    ReceiptKind,
    SecretKind,
    SubmissionStatus,
    TransportKind,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.access import has_perm
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required, refusal

FIELDS = (
    "name", "transport", "host", "port", "username", "secret_kind", "host_key",
    "outbound_path", "inbound_path", "archive_path", "after_collect", "submitter_qualifier",
    "submitter_id", "receiver_qualifier", "receiver_id",
)  # fmt: skip


def _clearinghouse(pk: int) -> Clearinghouse:
    found = selectors.clearinghouses().filter(pk=pk).first()
    if found is None:
        raise Http404("There is no such clearinghouse.")
    return found


@login_required
@permission_required(ClaimsPerm.MANAGE_CLEARINGHOUSE)
def clearinghouses(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request, "claims/mailbox_clearinghouses.html",
        {"clearinghouses": selectors.clearinghouses()},
    )  # fmt: skip


@login_required
@permission_required(ClaimsPerm.MANAGE_CLEARINGHOUSE)
@require_http_methods(["GET", "POST"])
def clearinghouse_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    clearinghouse = _clearinghouse(pk) if pk is not None else None
    if clearinghouse is not None:
        values = {name: str(getattr(clearinghouse, name)) for name in FIELDS}
        values["is_active"] = "on" if clearinghouse.is_active else ""
    else:
        values = {name: "" for name in FIELDS}
        values.update(
            transport=TransportKind.SFTP, port="22", secret_kind=SecretKind.PASSWORD,
            after_collect=AfterCollect.KEEP, submitter_qualifier="ZZ", receiver_qualifier="ZZ",
            is_active="on",
        )  # fmt: skip
    failed = refusal()
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in FIELDS}
        values["is_active"] = "on" if request.POST.get("is_active") else ""
        with failed:
            saved = services.clearinghouse_save(
                actor=request.user,
                clearinghouse=clearinghouse,
                secret=request.POST.get("secret", ""),
                is_active=bool(values["is_active"]),
                **{name: values[name] for name in FIELDS},
            )
        if not failed:
            messages.success(request, f"{saved.name} saved.")
            return redirect("claims:clearinghouses")
    return render(
        request,
        "claims/mailbox_clearinghouse_form.html",
        {
            "clearinghouse": clearinghouse,
            "values": values,  # never the secret: it is write-only
            "has_secret": bool(clearinghouse and clearinghouse.secret),
            "errors": failed.errors,
            "error": failed.message,
            "transports": TransportKind.choices,
            "secret_kinds": SecretKind.choices,
            "after_collect_choices": AfterCollect.choices,
            "qualifiers": services.ISA_QUALIFIERS,
        },
        status=422 if failed else 200,  # re-shown with its errors, as the other setup forms
    )


@login_required
@permission_required(ClaimsPerm.MANAGE_CLEARINGHOUSE)
@require_POST
def clearinghouse_test(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    clearinghouse = _clearinghouse(pk)
    check = services.test_connection(actor=request.user, clearinghouse=clearinghouse)
    if check.ok:
        messages.success(request, f"{clearinghouse.name}: {check.message}")
    else:
        messages.error(request, f"{clearinghouse.name}: {check.message}")
    return redirect("claims:clearinghouses")


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _sort_links(
    request: AuthenticatedHttpRequest, param: str, current: str, columns: tuple[str, ...]
) -> dict[str, str]:
    """Each column's link: sorted by it, or by it reversed when it is the current sort."""
    links = {}
    for column in columns:
        query = request.GET.copy()
        query[param] = f"-{column}" if current == column else column
        links[column] = "?" + query.urlencode()
    return links


@login_required
@permission_required(ClaimsPerm.SUBMIT, ClaimsPerm.MANAGE_CLEARINGHOUSE)
def mailbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    get = request.GET
    filters = selectors.MailboxFilters(
        clearinghouse=_int(get.get("clearinghouse")),
        status=get.get("status", ""),
        kind=get.get("kind", ""),
        name=get.get("name", "").strip()[:100],
        unprocessed=get.get("unprocessed") == "on",
        sort_submissions=get.get("sort_submissions", "-created"),
        sort_receipts=get.get("sort_receipts", "-received"),
    )
    return render(
        request,
        "claims/mailbox.html",
        {
            "filters": filters,
            "submissions": selectors.submissions(filters),
            "receipts": selectors.receipts(filters),
            "clearinghouses": selectors.clearinghouses(),
            "statuses": SubmissionStatus.choices,
            "kinds": ReceiptKind.choices,
            "may_collect": has_perm(request.user, ClaimsPerm.SUBMIT),
            "submission_sorts": _sort_links(
                request,
                "sort_submissions",
                filters.sort_submissions,
                ("clearinghouse", "name", "size", "status", "created"),
            ),
            "receipt_sorts": _sort_links(
                request,
                "sort_receipts",
                filters.sort_receipts,
                ("clearinghouse", "name", "kind", "size", "received", "processed"),
            ),
        },
    )


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_POST
def collect_now(request: AuthenticatedHttpRequest) -> HttpResponse:
    chosen = _int(request.POST.get("clearinghouse"))
    targets = selectors.active_clearinghouses()
    if chosen:
        targets = targets.filter(pk=chosen)
    if not targets:
        messages.error(request, "There is no active clearinghouse to collect from.")
    for clearinghouse in targets:
        with refusal() as failed:
            result = services.collect(actor=request.user, clearinghouse=clearinghouse)
        if failed:
            messages.error(request, f"{clearinghouse.name}: {failed.message}")
            continue
        if result.ok:
            messages.success(request, result.summary())
        else:
            messages.error(request, result.summary())
        for name, problem in result.failed + result.not_tidied:
            messages.warning(request, f"{name}: {problem}")
    return redirect("claims:mailbox")
