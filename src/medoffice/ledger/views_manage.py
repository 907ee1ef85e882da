"""Pages that change the books beyond posting: manual entries, periods and the year-end close,
the chart of accounts. Thin: they read the form, call one service, show its errors."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.core.access import has_perm
from medoffice.core.exceptions import InvalidInput, MedofficeError, NotFound, NotPermitted
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required
from medoffice.ledger import services
from medoffice.ledger.models import (
    Account,
    AccountType,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    ManualEntry,
    PeriodStatus,
    Side,
    to_dollars,
)
from medoffice.ledger.permissions import LedgerPerm
from medoffice.ledger.services import ManualLine
from medoffice.patients.permissions import PatientsPerm

BLANK_LINES = 4
MAX_FORM_LINES = 100


def _refused(exc: NotPermitted) -> PermissionDenied:
    return PermissionDenied(exc.message)


# --- Manual entries -----------------------------------------------------------------------------


@login_required
@permission_required(LedgerPerm.POST_MANUAL_ENTRIES, LedgerPerm.VIEW_BOOKS)
def manual_entries(request: AuthenticatedHttpRequest) -> HttpResponse:
    drafts = ManualEntry.objects.select_related(
        "prepared_by", "approval", "entry", "entry__reversed_by"
    )[:200]
    may_write = has_perm(request.user, LedgerPerm.POST_MANUAL_ENTRIES)
    return render(request, "ledger/manual_entries.html", {"drafts": drafts, "may_write": may_write})


def _form_lines(post: Any) -> list[dict[str, str]]:
    rows = []
    for n in range(1, MAX_FORM_LINES + 1):
        row = {
            "account": post.get(f"account_{n}", "").strip(),
            "debit": post.get(f"debit_{n}", "").strip(),
            "credit": post.get(f"credit_{n}", "").strip(),
            "memo": post.get(f"memo_{n}", "").strip(),
            "patient": post.get(f"patient_{n}", "").strip(),
        }
        if f"account_{n}" not in post:
            break
        rows.append(row)
    return rows


@login_required
@permission_required(LedgerPerm.POST_MANUAL_ENTRIES)
@require_http_methods(["GET", "POST"])
def manual_entry_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    rows = [
        {"account": "", "debit": "", "credit": "", "memo": "", "patient": ""}
        for _ in range(BLANK_LINES)
    ]
    values = {"date": timezone.localdate().isoformat(), "memo": ""}
    if request.method == "POST":
        values = {"date": request.POST.get("date", ""), "memo": request.POST.get("memo", "")}
        rows = _form_lines(request.POST)
        # Blank rows are left out; the others keep the number the form shows them under.
        typed = [(n, row) for n, row in enumerate(rows, start=1) if any(row.values())]
        try:
            day = _entry_day(values["date"])
            draft = services.manual_entry_submit(
                actor=request.user,
                date=day,
                memo=values["memo"],
                lines=[
                    ManualLine(
                        row["account"],
                        row["debit"],
                        row["credit"],
                        row["memo"],
                        patient=row["patient"],
                        number=n,
                    )
                    for n, row in typed
                ],
                idempotency_key=request.POST.get("idempotency_key", ""),
            )
        except NotPermitted as exc:
            raise _refused(exc) from exc
        except InvalidInput as exc:
            errors = exc.errors
        except MedofficeError as exc:  # a conflict on the idempotency key
            errors = {exc.field or "form": [exc.message]}
        else:
            if draft.entry_id:
                messages.success(request, f"Manual entry {draft.pk} posted.")
            elif any(row.get("patient") for row in draft.lines):
                messages.success(
                    request,
                    f"Manual entry {draft.pk} adjusts a patient's account: it waits for a "
                    "second person's approval.",
                )
            else:
                messages.success(
                    request,
                    f"Manual entry {draft.pk} is over your authority: it waits for approval.",
                )
            return redirect("ledger:manual_entries")
    accounts = Account.objects.filter(is_active=True, is_postable=True).order_by("code")
    lines = [
        {
            **row,
            "n": n,
            "errors": [
                m
                for k, v in errors.items()
                if k.startswith(f"lines.{n}") and (k == f"lines.{n}" or k[len(f"lines.{n}")] == ".")
                for m in v
            ],
        }
        for n, row in enumerate(rows, start=1)
    ]
    general = [m for k, v in errors.items() if not k.startswith("lines.") for m in v]
    return render(
        request,
        "ledger/manual_entry_form.html",
        {
            "accounts": accounts,
            "lines": lines,
            "values": values,
            "errors": errors,
            "general_errors": general,
            "idempotency_key": request.POST.get("idempotency_key") or _new_key(),
        },
        status=422 if errors else 200,
    )


def _entry_day(text: str) -> date | str | None:
    """The entry's date; the text itself when it cannot be read (the service names it among
    the other errors), None when blank."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return text


def _new_key() -> str:
    import secrets

    return secrets.token_urlsafe(16)


# --- Journal entries and their reversal ---------------------------------------------------------


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def entry_detail(request: AuthenticatedHttpRequest, entry_id: int) -> HttpResponse:
    """One journal entry: its lines, where it came from, and (for a manual entry) Reverse."""
    from medoffice.ledger import sources

    entry = JournalEntry.objects.select_related("posted_by", "reverses").filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"No journal entry {entry_id}.")
    lines = list(entry.lines.select_related("account", "location", "provider").order_by("id"))
    # A patient account is shown by the patient's name and MRN to a role that sees patients
    # (a PHI read, on the audit trail as a list of the patients shown); others see the line
    # is on a patient account, not whose.
    shows_patients = has_perm(request.user, PatientsPerm.VIEW_PATIENTS)
    patient_ids = sorted({line.patient_id for line in lines if line.patient_id})
    patients: dict[int, Any] = {}
    if shows_patients and patient_ids:
        from medoffice.core import audit
        from medoffice.patients.models import Patient

        patients = Patient.objects.in_bulk(patient_ids)
        audit.record_list(
            "patients.patient",
            patient_ids=patient_ids,
            description=f"journal entry {entry.pk}: its patient accounts",
            filters={"entry": entry.pk},
        )
    for line in lines:
        shown = patients.get(line.patient_id) if line.patient_id else None
        line.shown_patient = shown
    reversal = JournalEntry.objects.filter(reverses=entry).first()
    draft = ManualEntry.objects.filter(entry=entry).first()
    labels = sources.describe([entry] + ([reversal] if reversal else []))
    reversible = entry.source_type == services.MANUAL_SOURCE and reversal is None
    return render(
        request,
        "ledger/entry_detail.html",
        {
            "entry": entry,
            "lines": lines,
            "reversal": reversal,
            "draft": draft,
            "source": labels[entry.pk],
            "reversal_source": labels.get(reversal.pk) if reversal else None,
            "reversible": reversible,
            "owning_action": None if reversible else services.owning_action(entry),
            "may_reverse": has_perm(request.user, LedgerPerm.REVERSE_ENTRIES),
            "today": timezone.localdate(),
        },
    )


@login_required
@permission_required(LedgerPerm.REVERSE_ENTRIES)
@require_POST
def entry_reverse(request: AuthenticatedHttpRequest, entry_id: int) -> HttpResponse:
    text = request.POST.get("date", "").strip()
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        messages.error(request, f"Date: {text!r} is not a date.")
        return redirect("ledger:entry_detail", entry_id=entry_id)
    try:
        reversal = services.entry_reverse(
            entry_id=entry_id, actor=request.user, reason=request.POST.get("reason", ""), on=day
        )
    except NotFound:
        raise
    except MedofficeError as exc:
        # NotPermitted here is an amount over the reverser's authority (the permission itself
        # is checked above): said on the entry's page, with who may reverse it.
        messages.error(request, exc.message)
        return redirect("ledger:entry_detail", entry_id=entry_id)
    messages.success(request, f"Entry {entry_id} is reversed by entry {reversal.pk}.")
    return redirect("ledger:entry_detail", entry_id=reversal.pk)


# --- Periods ------------------------------------------------------------------------------------


def _months_shown() -> list[date]:
    """Every month from the books' start to this month, newest first: the empty months before
    the first postings too, which a later month's close closes with it."""
    today = timezone.localdate().replace(day=1)
    start = min(services.books_start(), today)
    months = []
    cursor = start
    while cursor <= today:
        months.append(cursor)
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    return months[::-1]


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS, LedgerPerm.CLOSE_PERIODS)
def periods(request: AuthenticatedHttpRequest) -> HttpResponse:
    months = _months_shown()
    # Only closed months show their period (who closed it, when); the rest are open, or were
    # closed with a later month.
    closed_months = list(
        FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED)
        .select_related("closed_by")
        .order_by("start")
    )
    closed_by_start = {period.start: period for period in closed_months}
    counts = dict(
        JournalLine.objects.filter(date__gte=months[-1])
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values_list("month")
        .annotate(n=Count("id"))
    )
    rows = []
    for month in months:
        period = closed_by_start.get(month)
        closed = period is not None
        rows.append(
            {
                "month": month,
                "label": month.strftime("%B %Y"),
                "closed": closed,
                # an open month before a closed one was closed with it (months close in order)
                "closed_with": None
                if closed
                else next((p for p in closed_months if p.start > month), None),
                "period": period,
                "lines": counts.get(month, 0),
                # a month closes once its last day has passed (this month is still running)
                "ended": month < timezone.localdate().replace(day=1),
            }
        )
    today = timezone.localdate()
    years = sorted({m.year for m in months if date(m.year, 12, 31) < today}, reverse=True)
    return render(
        request,
        "ledger/periods.html",
        {
            "rows": rows,
            "years": years,
            "may_close": has_perm(request.user, LedgerPerm.CLOSE_PERIODS),
            "may_reopen": has_perm(request.user, LedgerPerm.REOPEN_PERIODS),
        },
    )


def _month_of(request: AuthenticatedHttpRequest) -> date:
    return services.parse_month(request.POST.get("month", ""))


@login_required
@permission_required(LedgerPerm.CLOSE_PERIODS)
@require_POST
def period_close(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        period = services.close_period(month=_month_of(request), actor=request.user)
    except NotPermitted as exc:
        raise _refused(exc) from exc
    except MedofficeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{period.label} is closed.")
    return redirect("ledger:periods")


@login_required
@permission_required(LedgerPerm.REOPEN_PERIODS)
@require_POST
def period_reopen(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        period = services.reopen_period(
            month=_month_of(request), actor=request.user, reason=request.POST.get("reason", "")
        )
    except NotPermitted as exc:
        raise _refused(exc) from exc
    except MedofficeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{period.label} is open again.")
    return redirect("ledger:periods")


@login_required
@permission_required(LedgerPerm.CLOSE_PERIODS)
@require_http_methods(["GET", "POST"])
def year_close(request: AuthenticatedHttpRequest, year: int) -> HttpResponse:
    try:
        services.check_closable_year(year)
    except InvalidInput as exc:
        if request.method == "POST":
            messages.error(request, exc.message)
            return redirect("ledger:periods")
        raise
    if request.method == "POST":
        if request.POST.get("confirm") != str(year):
            messages.error(request, f"Type {year} to confirm the year-end close.")
            return redirect("ledger:year_close", year=year)
        try:
            entry = services.close_year(year=year, actor=request.user)
        except NotPermitted as exc:
            raise _refused(exc) from exc
        except MedofficeError as exc:
            messages.error(request, exc.message)
        else:
            posted = f" (entry {entry.pk})" if entry is not None else ""
            messages.success(request, f"{year} is closed{posted}.")
        return redirect("ledger:periods")
    nets = services.periods._year_nets(year)
    income = -sum(net for _, _, net in nets)
    return render(
        request,
        "ledger/year_close.html",
        {"year": year, "income": to_dollars(income), "accounts": len({a for a, _, _ in nets})},
    )


# --- Chart of accounts --------------------------------------------------------------------------


def _account(account_id: int) -> Account:
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"No account with id {account_id}.")
    return account


def _tree(accounts: list[Account], balances: dict[int, int]) -> list[dict[str, Any]]:
    children: dict[int | None, list[Account]] = {}
    for account in accounts:
        children.setdefault(account.parent_id, []).append(account)
    rows: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int) -> int:
        total = 0
        for account in children.get(parent, []):
            at = len(rows)
            rows.append({"account": account, "depth": depth})
            own = balances.get(account.pk, 0) + walk(account.pk, depth + 1)
            net = own if account.normal_side == Side.DEBIT else -own
            rows[at]["balance"] = to_dollars(net)
            total += own
        return total

    walk(None, 0)
    return rows


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS, LedgerPerm.MANAGE_ACCOUNTS)
def chart(request: AuthenticatedHttpRequest) -> HttpResponse:
    from medoffice.ledger import selectors

    accounts = list(Account.objects.order_by("code"))
    rows = _tree(accounts, selectors.net_by_account())
    return render(
        request,
        "ledger/chart.html",
        {"rows": rows, "may_manage": has_perm(request.user, LedgerPerm.MANAGE_ACCOUNTS)},
    )


def _parent(value: str) -> Account | None:
    return Account.objects.filter(pk=int(value)).first() if value.strip().isdigit() else None


@login_required
@permission_required(LedgerPerm.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def account_edit(request: AuthenticatedHttpRequest, account_id: int | None = None) -> HttpResponse:
    account = _account(account_id) if account_id is not None else None
    errors: dict[str, list[str]] = {}
    values = {
        "code": account.code if account else "",
        "name": account.name if account else "",
        "type": account.type if account else AccountType.EXPENSE,
        "parent": str(account.parent_id or "") if account else "",
        "description": account.description if account else "",
        "contra": "",
    }
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        try:
            if account is None:
                saved = services.account_create(
                    actor=request.user, code=values["code"], name=values["name"],
                    type=values["type"], parent=_parent(values["parent"]),
                    contra=values["contra"] == "on", description=values["description"],
                )  # fmt: skip
            else:
                saved = services.account_update(
                    actor=request.user, account=account, code=values["code"],
                    name=values["name"], parent=_parent(values["parent"]),
                    description=values["description"],
                )  # fmt: skip
        except NotPermitted as exc:
            raise _refused(exc) from exc
        except InvalidInput as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Account {saved} saved.")
            return redirect("ledger:chart")
    parents = Account.objects.filter(is_active=True).exclude(pk=getattr(account, "pk", None))
    return render(
        request,
        "ledger/account_form.html",
        {
            "account": account,
            "values": values,
            "errors": errors,
            "types": AccountType.choices,
            "parents": parents.order_by("code"),
        },
        status=422 if errors else 200,
    )


@login_required
@permission_required(LedgerPerm.MANAGE_ACCOUNTS)
@require_POST
def account_active(request: AuthenticatedHttpRequest, account_id: int) -> HttpResponse:
    account = _account(account_id)
    change = (
        services.account_reactivate
        if request.POST.get("active") == "1"
        else services.account_deactivate
    )
    try:
        saved = change(actor=request.user, account=account)
    except NotPermitted as exc:
        raise _refused(exc) from exc
    except MedofficeError as exc:
        messages.error(request, exc.message)
    else:
        state = "active" if saved.is_active else "inactive"
        messages.success(request, f"Account {saved} is {state}.")
    return redirect("ledger:chart")
