"""The books' pages: thin, reading through selectors and writing through services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from medoffice.core.dates import parse_day
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required
from medoffice.ledger import selectors
from medoffice.ledger.permissions import LedgerPerm


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return redirect("ledger:trial_balance")


@login_required
@permission_required(LedgerPerm.VIEW_BOOKS)
def trial_balance(request: AuthenticatedHttpRequest) -> HttpResponse:
    as_of = parse_day(request.GET.get("as_of"), field="as_of", default=timezone.localdate())
    balance = selectors.trial_balance(as_of)
    return render(request, "ledger/trial_balance.html", {"balance": balance, "as_of": as_of})
