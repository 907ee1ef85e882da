"""Claim status requests (276): the claims without an answer after N days, and the button that
asks their payers through a clearinghouse. Thin: the selector lists, the service sends."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from medoffice.claims import claim_status
from medoffice.claims.mailbox_selectors import active_clearinghouses
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required, refusal

SHOWN = 100


def _days(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 1 <= int(text) <= 3650 else None


@login_required
@permission_required(ClaimsPerm.SUBMIT)
@require_http_methods(["GET", "POST"])
def status_requests(request: AuthenticatedHttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    days = _days(source.get("days", "30"))
    houses = active_clearinghouses()
    errors: dict[str, str] = {}
    if days is None:
        errors["days"] = "Days: a whole number from 1 to 3650."
        days = 30
    if request.method == "POST" and not errors:
        picked = (request.POST.get("clearinghouse") or "").strip()
        chosen = (
            houses.filter(pk=int(picked)).first() if picked.isascii() and picked.isdigit() else None
        )
        if chosen is None:
            errors["clearinghouse"] = "Choose the clearinghouse to send the 276 through."
        else:
            with refusal() as failed:
                asked = claim_status.claim_status_send(
                    actor=request.user, clearinghouse=chosen, days=days,
                    idempotency_key=request.POST.get("idempotency_key", ""),
                )  # fmt: skip
            if failed:
                errors["form"] = failed.message
            else:
                sent = asked.submission
                words = (f"{sent.name}: {asked.claim_count} claim(s) asked about, "
                         f"{sent.get_status_display().lower()}")  # fmt: skip
                if sent.error:
                    messages.error(request, f"{words}: {sent.error}")
                else:
                    messages.success(request, f"{words} to {chosen.name}.")
                return redirect(f"{reverse('claims:status_requests')}?days={days}")
    waiting = claim_status.claims_needing_status(days)
    return render(request, "claims/status_requests.html", {
        "days": days, "claims": list(waiting[:SHOWN]), "total": waiting.count(),
        "shown": SHOWN, "clearinghouses": houses, "errors": errors,
        "idempotency_key": uuid.uuid4().hex,
    }, status=422 if errors else 200)  # fmt: skip
