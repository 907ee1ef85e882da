"""Pages of the fee schedule and the payer contracts. Thin: they read the form, call one
service (coding.fees) or selector (coding.pricing), and show the service's errors."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.coding import fees, pricing
from medoffice.coding.models import ContractBasis, Fee, PayerContract, ProcedureCode
from medoffice.coding.permissions import CodingPerm
from medoffice.core.access import has_perm
from medoffice.core.dates import parse_day
from medoffice.core.exceptions import InvalidInput, MedofficeError, NotPermitted
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required
from medoffice.patients.models import Payer

MAX_FEE_ROWS = 5000


def _key() -> str:
    return secrets.token_urlsafe(16)


def _errors(exc: MedofficeError) -> dict[str, list[str]]:
    if isinstance(exc, InvalidInput) and exc.errors:
        return {k: list(v) for k, v in exc.errors.items()}
    return {exc.field or "form": [exc.message]}


def _contract(pk: int) -> PayerContract:
    found = PayerContract.objects.select_related("payer").filter(pk=pk).first()
    if found is None:
        raise Http404("No such contract.")
    return found


def dollars(cents: int | None) -> str:
    return "" if cents is None else f"{Decimal(cents) / 100:,.2f}"


# --- The fee schedule ---------------------------------------------------------------------------


def _fee_page(request: AuthenticatedHttpRequest, *, errors: dict[str, list[str]] | None = None,
              values: dict[str, str] | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    rows = list(Fee.objects.order_by("code", "modifier", "-effective_from")[:MAX_FEE_ROWS])
    described = dict(
        ProcedureCode.objects.filter(code__in={fee.code for fee in rows}).values_list(
            "code", "short_description"
        )
    )
    today = timezone.localdate()
    return render(
        request,
        "coding/fees.html",
        {
            "fees": [
                {
                    "fee": fee,
                    "description": described.get(fee.code, ""),
                    "charge": dollars(int(fee.charge_cents)),
                    "in_force": fee.effective_from <= today
                    and (fee.effective_to is None or fee.effective_to >= today),
                }
                for fee in rows
            ],
            "truncated": len(rows) >= MAX_FEE_ROWS,
            "may_manage": has_perm(request.user, CodingPerm.MANAGE_FEES),
            "errors": errors or {},
            "values": values or {"effective_from": today.isoformat()},
            "idempotency_key": request.POST.get("idempotency_key") or _key(),
        },
        status=status,
    )


@login_required
@permission_required(CodingPerm.VIEW)
def fee_schedule(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The schedule; ``?edit=<id>`` fills the form with that fee (saved from its start, it
    corrects the charge; from a later day, it starts a new fee)."""
    editing = request.GET.get("edit", "")
    fee = Fee.objects.filter(pk=editing).first() if editing.isdigit() else None
    if fee is None or not has_perm(request.user, CodingPerm.MANAGE_FEES):
        return _fee_page(request)
    values = {
        "code": fee.code,
        "modifier": fee.modifier,
        "charge": dollars(int(fee.charge_cents)).replace(",", ""),
        "effective_from": fee.effective_from.isoformat(),
    }
    return _fee_page(request, values=values)


@login_required
@permission_required(CodingPerm.MANAGE_FEES)
@require_POST
def fee_set(request: AuthenticatedHttpRequest) -> HttpResponse:
    values = {k: request.POST.get(k, "").strip() for k in
              ("code", "modifier", "charge", "effective_from")}  # fmt: skip
    try:
        fee = fees.fee_set(actor=request.user, **values)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        return _fee_page(request, errors=_errors(exc), values=values, status=422)
    name = f"{fee.code}-{fee.modifier}" if fee.modifier else fee.code
    messages.success(request, f"The fee of {name} is ${dollars(int(fee.charge_cents))} from "
                              f"{fee.effective_from:%m/%d/%Y}.")  # fmt: skip
    return redirect("coding:fees")


@login_required
@permission_required(CodingPerm.MANAGE_FEES)
@require_POST
def fee_schedule_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return _fee_page(request, errors={"file": ["Choose a CSV file to upload."]}, status=422)
    try:
        result = fees.fee_schedule_import(
            actor=request.user, data=upload, source_name=upload.name or "",
            idempotency_key=request.POST.get("idempotency_key", ""),
        )  # fmt: skip
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        return _fee_page(request, errors=_errors(exc), status=422)
    if result.replayed:
        messages.info(request, "This file was already imported; nothing was written again.")
    else:
        messages.success(request, f"{result.record.row_count} fees imported.")
    return redirect("coding:fees")


@login_required
@permission_required(CodingPerm.VIEW)
def expected_payments(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Per code in force on the day: the charge and each contracted payer's expected payment."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    try:
        day = parse_day(request.GET.get("day"), field="day", default=today)
    except InvalidInput as exc:
        errors, day = _errors(exc), today
    facility = request.GET.get("setting") == "facility"
    payers = pricing.payers_with_contracts(day)
    rows = pricing.fee_table(day, payers, facility=facility)
    return render(
        request,
        "coding/fees_expected.html",
        {
            "day": day,
            "facility": facility,
            "payers": payers,
            "rows": [
                {
                    "row": row,
                    "charge": dollars(row.charge_cents),
                    "expected": [dollars(cents) for cents in row.expected_cents],
                }
                for row in rows
            ],
            "errors": errors,
        },
        status=422 if errors else 200,
    )


# --- Payer contracts ----------------------------------------------------------------------------


@login_required
@permission_required(CodingPerm.VIEW)
def contract_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    contracts = PayerContract.objects.select_related("payer").annotate(rate_count=Count("rates"))
    today = timezone.localdate()
    return render(
        request,
        "coding/contracts.html",
        {
            "contracts": [
                {
                    "contract": c,
                    "in_force": c.effective_from <= today
                    and (c.effective_to is None or c.effective_to >= today),
                }
                for c in contracts
            ],
            "may_manage": has_perm(request.user, CodingPerm.MANAGE_FEES),
        },
    )


CONTRACT_FIELDS = ("name", "basis", "medicare_percent", "mac", "locality", "effective_from",
                   "effective_to")  # fmt: skip


def _contract_form(request: AuthenticatedHttpRequest, contract: PayerContract | None
                   ) -> HttpResponse:  # fmt: skip
    errors: dict[str, list[str]] = {}
    if contract is not None:
        values: dict[str, Any] = {
            "payer": str(contract.payer_id), "name": contract.name, "basis": contract.basis,
            "medicare_percent": "" if contract.medicare_percent is None
            else f"{contract.medicare_percent.normalize():f}",
            "mac": contract.mac, "locality": contract.locality,
            "effective_from": contract.effective_from.isoformat(),
            "effective_to": contract.effective_to.isoformat() if contract.effective_to else "",
        }  # fmt: skip
    else:
        values = {"basis": ContractBasis.RATES,
                  "effective_from": timezone.localdate().isoformat()}  # fmt: skip
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in (*CONTRACT_FIELDS, "payer")}
        terms = {k: values[k] for k in CONTRACT_FIELDS}
        try:
            if contract is None:
                payer = Payer.objects.filter(pk=values["payer"]).first() if values[
                    "payer"].isdigit() else None  # fmt: skip
                if payer is None:
                    raise InvalidInput("Choose the payer.", field="payer")
                saved = fees.contract_create(actor=request.user, payer=payer, **terms)
            else:
                saved = fees.contract_update(actor=request.user, contract=contract, **terms)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Contract “{saved.name}” saved.")
            return redirect("coding:contract_detail", saved.pk)
    return render(
        request,
        "coding/contracts_form.html",
        {
            "contract": contract,
            "values": values,
            "errors": errors,
            "payers": Payer.objects.order_by("name"),
            "bases": ContractBasis.choices,
        },
        status=422 if errors else 200,
    )


@login_required
@permission_required(CodingPerm.MANAGE_FEES)
@require_http_methods(["GET", "POST"])
def contract_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _contract_form(request, None)


@login_required
@permission_required(CodingPerm.MANAGE_FEES)
@require_http_methods(["GET", "POST"])
def contract_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _contract_form(request, _contract(pk))


def _detail(request: AuthenticatedHttpRequest, contract: PayerContract, *,
            errors: dict[str, list[str]] | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    rates = list(contract.rates.order_by("code", "modifier"))
    described = dict(
        ProcedureCode.objects.filter(code__in={r.code for r in rates}).values_list(
            "code", "short_description"
        )
    )
    return render(
        request,
        "coding/contracts_detail.html",
        {
            "contract": contract,
            "rates": [
                {
                    "rate": r,
                    "description": described.get(r.code, ""),
                    "amount": dollars(int(r.rate_cents)),
                }
                for r in rates
            ],
            "may_manage": has_perm(request.user, CodingPerm.MANAGE_FEES),
            "errors": errors or {},
            "values": {k: request.POST.get(k, "") for k in ("code", "modifier", "rate")},
            "idempotency_key": request.POST.get("idempotency_key") or _key(),
        },
        status=status,
    )


@login_required
@permission_required(CodingPerm.VIEW)
def contract_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _contract(pk))


@login_required
@permission_required(CodingPerm.MANAGE_FEES)
@require_POST
def contract_rate_set(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contract = _contract(pk)
    try:
        fees.contract_rate_set(
            actor=request.user, contract=contract, code=request.POST.get("code", ""),
            modifier=request.POST.get("modifier", ""), rate=request.POST.get("rate", ""),
        )  # fmt: skip
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        return _detail(request, contract, errors=_errors(exc), status=422)
    messages.success(request, "Rate saved.")
    return redirect("coding:contract_detail", contract.pk)


@login_required
@permission_required(CodingPerm.MANAGE_FEES)
@require_POST
def contract_rates_import(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contract = _contract(pk)
    upload = request.FILES.get("file")
    if upload is None:
        return _detail(request, contract, errors={"file": ["Choose a CSV file to upload."]},
                       status=422)  # fmt: skip
    try:
        result = fees.contract_rates_import(
            actor=request.user, contract=contract, data=upload, source_name=upload.name or "",
            idempotency_key=request.POST.get("idempotency_key", ""),
        )  # fmt: skip
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        return _detail(request, contract, errors=_errors(exc), status=422)
    if result.replayed:
        messages.info(request, "This file was already imported; nothing was written again.")
    else:
        messages.success(request, f"{result.record.row_count} rates imported.")
    return redirect("coding:contract_detail", contract.pk)


@login_required
@permission_required(CodingPerm.MANAGE_FEES)
@require_POST
def contract_end(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contract = _contract(pk)
    try:
        fees.contract_end(actor=request.user, contract=contract,
                          last_day=request.POST.get("last_day", ""))  # fmt: skip
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        return _detail(request, contract, errors=_errors(exc), status=422)
    messages.success(request, "The contract's last day is set.")
    return redirect("coding:contract_detail", contract.pk)
