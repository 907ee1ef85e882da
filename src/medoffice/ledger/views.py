"""The books' pages: thin, reading through selectors and reports.

Each report answers as HTML, or as CSV (`?format=csv`) and, for the statements, PDF
(`?format=pdf`) from the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from medoffice.core import audit
from medoffice.core.access import get_for_user
from medoffice.core.dates import check_span, parse_day
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import AuditAction, Location, Provider
from medoffice.core.views import permission_required
from medoffice.ledger import documents, exports, reports, selectors
from medoffice.ledger.models import Account, to_dollars
from medoffice.ledger.permissions import LedgerPerm
from medoffice.patients.models import Patient
from medoffice.patients.permissions import PatientsPerm

REPORTS = [
    ("ledger:trial_balance", "Trial balance", "every account's balance as of a day"),
    ("ledger:income_statement", "Income statement", "revenue and expenses by month or location"),
    ("ledger:balance_sheet", "Balance sheet", "assets, liabilities and equity as of a day"),
    ("ledger:general_ledger", "General ledger", "each account's lines with the running balance"),
]


def _csv(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _int(request: AuthenticatedHttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name}: choose one from the list.", field=name) from None


def _dimensions(request: AuthenticatedHttpRequest) -> dict:
    return selectors.check_dimensions(_int(request, "location"), _int(request, "provider"))


def _choices() -> dict:
    return {
        "locations": Location.objects.order_by("name").only("pk", "name"),
        "providers": Provider.objects.order_by("last_name", "first_name"),
    }


def _day(request: AuthenticatedHttpRequest, name: str, default: date | None) -> date | None:
    if default is None and not request.GET.get(name):
        return None
    return parse_day(request.GET.get(name), field=name, default=default or timezone.localdate())


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def home(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return render(request, "ledger/home.html", {"reports": REPORTS})


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def trial_balance(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    as_of = parse_day(request.GET.get("as_of"), field="as_of", default=timezone.localdate())
    dims = _dimensions(request)
    balance = selectors.trial_balance(as_of, **dims)
    if request.GET.get("format") == "csv":
        return _csv(exports.trial_balance_csv(balance), f"trial-balance-{as_of.isoformat()}.csv")
    filtered = any(value is not None for value in dims.values())
    context = {"balance": balance, "as_of": as_of, "filtered": filtered, **dims, **_choices()}
    return render(request, "ledger/trial_balance.html", context)


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def accounts(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The accounts to choose from; a location or provider asked for is checked here as on an
    account's page, and carried to it."""
    dims = _dimensions(request)
    chart = Account.objects.select_related("parent").order_by("code")
    names = {"location_id": "location", "provider_id": "provider"}
    carried = urlencode({names[key]: value for key, value in dims.items() if value is not None})
    return render(request, "ledger/accounts.html", {"accounts": chart, "carried": carried})


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def account_detail(request: AuthenticatedHttpRequest, account_id: int) -> HttpResponseBase:
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"No account with id {account_id}.")
    today = timezone.localdate()
    since = _day(request, "since", today.replace(day=1))
    until = _day(request, "until", today)
    check_span(since, until)
    offset = max(_int(request, "offset") or 0, 0)
    wants_csv = request.GET.get("format") == "csv"
    detail = reports.account_detail(
        account, since=since, until=until, offset=0 if wants_csv else offset,
        limit=reports.DETAIL_PAGE * 50 if wants_csv else reports.DETAIL_PAGE,
        **_dimensions(request),
    )  # fmt: skip
    if wants_csv:
        return _csv(exports.account_detail_csv(detail), f"ledger-{account.code}.csv")
    query = request.GET.copy()
    query["offset"] = str(offset + detail.limit)
    context = {
        "detail": detail, "account": account, "since": since, "until": until,
        "next_query": query.urlencode(), **_dimensions(request), **_choices(),
    }  # fmt: skip
    return render(request, "ledger/account_detail.html", context)


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def income_statement(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    today = timezone.localdate()
    since = _day(request, "since", today.replace(month=1, day=1)) or today
    until = _day(request, "until", today) or today
    check_span(since, until)
    by = request.GET.get("by", "month")
    statement = reports.income_statement(since=since, until=until, by=by, **_dimensions(request))
    name = f"income-statement-{since.isoformat()}-{until.isoformat()}"
    if request.GET.get("format") == "csv":
        return _csv(exports.income_statement_csv(statement), f"{name}.csv")
    if request.GET.get("format") == "pdf":
        return _pdf(documents.income_statement_pdf(statement), f"{name}.pdf")
    rows = []
    for section, lines, totals, total in statement.table():
        for words, cells, line_total in lines:
            rows.append(
                (section, words, [to_dollars(c) for c in cells], to_dollars(line_total), False)
            )
        rows.append((section, f"Total {section.lower()}", [to_dollars(c) for c in totals],
                     to_dollars(total), True))  # fmt: skip
    net = statement.net_totals
    context = {
        "statement": statement, "since": since, "until": until, "by": statement.by,
        "column_labels": [label for _, label in statement.columns], "rows": rows,
        "net_cells": [to_dollars(net[key]) for key, _ in statement.columns],
        "net_income": to_dollars(statement.net_income_cents),
        **_dimensions(request), **_choices(),
    }  # fmt: skip
    return render(request, "ledger/income_statement.html", context)


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def balance_sheet(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    as_of = parse_day(request.GET.get("as_of"), field="as_of", default=timezone.localdate())
    sheet = reports.balance_sheet(as_of)
    name = f"balance-sheet-{as_of.isoformat()}"
    if request.GET.get("format") == "csv":
        return _csv(exports.balance_sheet_csv(sheet), f"{name}.csv")
    if request.GET.get("format") == "pdf":
        return _pdf(documents.balance_sheet_pdf(sheet), f"{name}.pdf")
    context = {
        "sheet": sheet, "as_of": as_of,
        "sections": [(name, lines, to_dollars(total)) for name, lines, total in sheet.sections()],
        "liabilities_and_equity": to_dollars(sheet.liabilities_cents + sheet.equity_cents),
    }  # fmt: skip
    return render(request, "ledger/balance_sheet.html", context)


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
@permission_required(PatientsPerm.VIEW_MONEY)
def patient_statement(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponseBase:
    """A patient account's activity: a PHI read, written to the audit trail (a view of the
    page, a download of its CSV or PDF)."""
    kind = request.GET.get("format", "")
    since = _day(request, "since", None)
    until = _day(request, "until", None)
    check_span(since, until)  # before the read: a refused request reads no record
    patient = get_for_user(
        Patient, request.user, PatientsPerm.VIEW_PATIENTS, pk=patient_id,
        record_view=kind not in ("csv", "pdf"),
    )  # fmt: skip
    activity = reports.patient_activity(patient.pk, since=since, until=until)
    if kind in ("csv", "pdf"):
        audit.record(AuditAction.DOWNLOAD, obj=patient, reason=f"account statement {kind.upper()}")
        name = f"statement-{patient.mrn or patient.pk}"
        if kind == "csv":
            return _csv(exports.patient_activity_csv(activity), f"{name}.csv")
        content = documents.patient_statement_pdf(
            activity, patient_name=patient.full_name, mrn=patient.mrn
        )
        return _pdf(content, f"{name}.pdf")
    context = {"patient": patient, "activity": activity, "since": since, "until": until}
    return render(request, "ledger/patient_statement.html", context)


EXPORTS: dict[str, tuple[Callable[[date | None, date | None], Iterator[str]], str, str]] = {
    "csv": (exports.journal_csv, "text/csv; charset=utf-8", "journal.csv"),
    "iif": (exports.journal_iif, "application/octet-stream", "journal.iif"),
    "beancount": (exports.journal_beancount, "text/plain; charset=utf-8", "journal.beancount"),
}


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def journal_export(request: AuthenticatedHttpRequest, kind: str) -> HttpResponseBase:
    if kind not in EXPORTS:
        raise NotFound(f"No journal export called {kind!r}.")
    since = _day(request, "since", None)
    until = _day(request, "until", None)
    check_span(since, until)
    make, content_type, filename = EXPORTS[kind]
    lines = exports.journal_lines(since, until)
    audit.record_export(
        f"ledger.journal.{kind}",
        rows=lines.count(),
        filters={
            "since": since.isoformat() if since else "",
            "until": until.isoformat() if until else "",
        },
    )
    body: Iterator[str] = make(since, until)
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def exports_page(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return render(request, "ledger/exports.html", {"kinds": list(EXPORTS)})
