"""Pages of the desk's money in the books: void a payment, refund a credit, close the drawer,
make the bank deposit, and print the refund receipt and the deposit slip.

Each view reads its input, calls one service or selector, and renders.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.core import audit, once
from medoffice.core.access import has_perm
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import AuditAction
from medoffice.core.views import object_for_page, permission_required, refusal
from medoffice.ledger.permissions import LedgerPerm
from medoffice.reception import selectors, services
from medoffice.reception.documents import deposit_slip_pdf, refund_receipt_pdf
from medoffice.reception.models import Deposit, PaymentMethod
from medoffice.reception.permissions import ReceptionPerm
from medoffice.reception.views import (
    _after,
    _day,
    _location,
    _patient_for,
    _payment_for,
    _redisplayed,
)

REFUND_FORM = "reception.refund"


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- Void ---------------------------------------------------------------------------------


@login_required
@permission_required(ReceptionPerm.COLLECT_PAYMENTS)
@require_POST
def payment_void(request: AuthenticatedHttpRequest, payment_id: int) -> HttpResponse:
    payment = _payment_for(request, payment_id, record_view=False)
    with refusal() as refused:
        services.payment_void(
            payment_id=payment.pk, voided_by=request.user, reason=request.POST.get("reason", "")
        )
    if refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Receipt {payment.receipt_number} is void.")
    return redirect("reception:receipt", payment_id=payment.pk)


# --- Refunds ------------------------------------------------------------------------------


def _refund_for(request: AuthenticatedHttpRequest, refund_id: int, *, record_view: bool = True):
    return object_for_page(
        selectors.refund_with_details(refund_id),
        request,
        ReceptionPerm.COLLECT_PAYMENTS,
        pk=refund_id,
        record_view=record_view,
    )


@login_required
@permission_required(ReceptionPerm.COLLECT_PAYMENTS)
@require_http_methods(["GET", "POST"])
def refund_new(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient_for(request, patient_id)
    errors: dict[str, str] = {}
    summary = ""
    purpose = f"{REFUND_FORM}:{patient.pk}"
    if request.method == "POST":

        def write() -> str:
            refund = services.refund_request(
                patient=patient,
                amount=request.POST.get("amount", ""),
                method=request.POST.get("method", ""),
                reason=request.POST.get("reason", ""),
                requested_by=request.user,
                location=_location(request),
            )
            closed = services.refund_closed_drawer(refund)
            if closed:
                messages.warning(request, f"Refund {refund.number} approved. {closed}")
            elif refund.status == "approved":
                messages.success(request, f"Refund {refund.number} approved: pay it out now.")
            else:
                messages.info(
                    request,
                    f"Refund {refund.number} is over your refund limit; "
                    "it waits in the approvals queue.",
                )
            return reverse("reception:refund", args=[refund.pk])

        with refusal() as refused:
            return _after(request, once.spend(request, purpose, write))
        summary, errors = refused.message, refused.errors
    return render(
        request,
        "reception/refund_new.html",
        {
            "patient": patient,
            "balance": selectors.patient_balance(patient),
            "credit": selectors.refundable_credit(patient.pk),
            "methods": PaymentMethod.choices,
            "locations": selectors.active_locations(),
            "location": _location(request),
            "errors": errors,
            "summary": summary,
            "post": _redisplayed(request.POST, "reason", "reference", "note", "net")
            if request.method == "POST"
            else {},
            "form_token": once.current(request, purpose),
        },
    )


@login_required
@permission_required(ReceptionPerm.COLLECT_PAYMENTS)
@require_http_methods(["GET", "POST"])
def refund_detail(request: AuthenticatedHttpRequest, refund_id: int) -> HttpResponse:
    refund = _refund_for(request, refund_id, record_view=request.method == "GET")
    error = ""
    if request.method == "POST":
        with refusal() as refused:
            if request.POST.get("action") == "withdraw":
                services.refund_withdraw(
                    refund_id=refund.pk,
                    withdrawn_by=request.user,
                    reason=request.POST.get("withdraw_reason", ""),
                )
                messages.success(
                    request,
                    f"Refund {refund.number} is withdrawn: ${refund.amount:,.2f} is back on the "
                    "patient's account as credit.",
                )
            else:
                services.refund_pay(
                    refund_id=refund.pk,
                    paid_by=request.user,
                    reference=request.POST.get("reference", ""),
                    method=request.POST.get("method", ""),
                )
                messages.success(request, f"Refund {refund.number} paid out.")
            return redirect("reception:refund", refund_id=refund.pk)
        error = refused.message
    closed_drawer = services.refund_closed_drawer(refund)
    return render(
        request,
        "reception/refund.html",
        {
            "refund": refund,
            "patient": refund.patient,
            "balance": selectors.patient_balance(refund.patient),
            "error": error,
            "closed_drawer": closed_drawer,
            "pay_method": PaymentMethod.CHECK if closed_drawer else refund.method,
            "methods": PaymentMethod.choices,
            "post": _redisplayed(request.POST, "reason", "reference", "note", "net")
            if request.method == "POST"
            else {},
        },
    )


@login_required
@permission_required(ReceptionPerm.COLLECT_PAYMENTS)
def refund_receipt_view(request: AuthenticatedHttpRequest, refund_id: int) -> HttpResponse:
    refund = _refund_for(request, refund_id, record_view=False)
    content = refund_receipt_pdf(refund, balance=selectors.patient_balance(refund.patient))
    audit.record(AuditAction.DOWNLOAD, obj=refund, reason="refund receipt PDF")
    return _pdf(content, f"refund-{refund.number}.pdf")


# --- The drawer ---------------------------------------------------------------------------


@login_required
@permission_required(LedgerPerm.CLOSE_DRAWER)
@require_http_methods(["GET", "POST"])
def drawer(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A location's day at the desk: what the drawer should hold, the count, the close."""
    location = _location(request)
    if location is None:
        raise Http404("No location to close.")
    day = _day(request.GET.get("date") or request.POST.get("date"), selectors.local_today())
    errors: dict[str, str] = {}
    summary = ""
    if request.method == "POST":
        with refusal() as refused:
            close = services.drawer_close(
                location=location,
                day=day,
                counted_cash=request.POST.get("counted_cash", ""),
                counted_checks=request.POST.get("counted_checks", ""),
                counted_card=request.POST.get("counted_card", ""),
                note=request.POST.get("note", ""),
                closed_by=request.user,
            )
            messages.success(request, f"Drawer closed for {day:%m/%d/%Y}: {close.outcome}.")
            query = urlencode({"location": str(location.pk), "date": day.isoformat()})
            return redirect(reverse("reception:drawer") + "?" + query)
        summary, errors = refused.message, refused.errors
    today = selectors.drawer_day(location, day)
    audit.record_list(
        "reception.drawer", patient_ids=[p.patient_id for p in today.payments],
        description=f"drawer {location.pk} {day.isoformat()}",
        filters={"date": day.isoformat(), "location": location.pk},
    )  # fmt: skip
    return render(
        request,
        "reception/drawer.html",
        {
            "drawer": today,
            "day": day,
            "location": location,
            "locations": selectors.active_locations(),
            "errors": errors,
            "summary": summary,
            "post": _redisplayed(request.POST, "reason", "reference", "note", "net")
            if request.method == "POST"
            else {},
            "can_deposit": has_perm(request.user, LedgerPerm.CLOSE_DRAWER),
            "is_future": day > selectors.local_today(),
        },
    )


# --- Deposits -----------------------------------------------------------------------------


@login_required
@permission_required(LedgerPerm.CLOSE_DRAWER)
@require_http_methods(["GET", "POST"])
def deposits(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Closed days not yet at the bank (choose them, make the deposit) and the last deposits."""
    location = _location(request)
    if location is None:
        raise Http404("No location.")
    error = settle_error = ""
    chosen = [int(pk) for pk in request.POST.getlist("close") if pk.isdigit()]
    if request.method == "POST" and request.POST.get("action") == "settle":
        with refusal() as refused:
            settlement = services.card_settlement_record(
                location=location,
                close_ids=chosen,
                net=request.POST.get("net", ""),
                day=_day(request.POST.get("date"), selectors.local_today()),
                reference=request.POST.get("reference", ""),
                note=request.POST.get("note", ""),
                made_by=request.user,
            )
            messages.success(
                request,
                f"Card settlement {settlement.pk} recorded: ${settlement.net:,.2f} to the bank, "
                f"${settlement.fees:,.2f} in fees.",
            )
            query = urlencode({"location": str(location.pk)})
            return redirect(reverse("reception:deposits") + "?" + query)
        settle_error = refused.message
    elif request.method == "POST":
        with refusal() as refused:
            deposit = services.deposit_make(
                location=location,
                close_ids=chosen,
                made_by=request.user,
                note=request.POST.get("note", ""),
            )
            messages.success(request, f"Deposit {deposit.pk} made: ${deposit.total:,.2f}.")
            return redirect("reception:deposit", deposit_id=deposit.pk)
        error = refused.message
    return render(
        request,
        "reception/deposits.html",
        {
            "location": location,
            "locations": selectors.active_locations(),
            "closes": list(selectors.closes_to_deposit(location)),
            "recent": Deposit.objects.filter(location=location).select_related("made_by")[:20],
            "error": error,
            "to_settle": list(selectors.closes_to_settle(location)),
            "settlements": list(selectors.card_settlements(location)),
            "settle_error": settle_error,
            "post": _redisplayed(request.POST, "reason", "reference", "note", "net")
            if request.method == "POST"
            else {},
            "today": selectors.local_today(),
        },
    )


def _deposit_for(deposit_id: int) -> Deposit:
    deposit = Deposit.objects.select_related("location", "made_by").filter(pk=deposit_id).first()
    if deposit is None:
        raise Http404("No such deposit.")
    return deposit


@login_required
@permission_required(LedgerPerm.CLOSE_DRAWER)
def deposit_detail(request: AuthenticatedHttpRequest, deposit_id: int) -> HttpResponse:
    deposit = _deposit_for(deposit_id)
    closes = selectors.deposit_closes(deposit.pk)
    return render(
        request,
        "reception/deposit.html",
        {"deposit": deposit, "closes": closes, "checks": selectors.checks_of_closes(closes)},
    )


@login_required
@permission_required(LedgerPerm.CLOSE_DRAWER)
def deposit_slip(request: AuthenticatedHttpRequest, deposit_id: int) -> HttpResponse:
    deposit = _deposit_for(deposit_id)
    closes = selectors.deposit_closes(deposit.pk)
    checks = selectors.checks_of_closes(closes)
    audit.record_list(
        "reception.depositslip", patient_ids=[check.patient_id for check in checks],
        description=f"deposit slip {deposit.pk}", filters={"deposit": deposit.pk},
    )  # fmt: skip
    return _pdf(deposit_slip_pdf(deposit, closes, checks), f"deposit-{deposit.pk}.pdf")
