"""Applying a response file by hand: a 999, 277CA, 271 or 277 uploaded by a biller (the
mailbox applies the files it collects through the same services)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from medoffice.claims import acknowledgements, claim_status, eligibility
from medoffice.claims.acknowledgements import ApplyResult
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.access import has_perm
from medoffice.core.exceptions import MedofficeError, NotPermitted
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
KINDS: dict[str, tuple[str, Callable[..., ApplyResult], str]] = {
    "999": ("999 implementation acknowledgment (a batch accepted or rejected)",
            acknowledgements.apply_999, ClaimsPerm.SUBMIT),
    "277CA": ("277CA claim acknowledgment (claims accepted or rejected)",
              acknowledgements.apply_277ca, ClaimsPerm.SUBMIT),
    "271": ("271 eligibility response", eligibility.apply_271, ClaimsPerm.CHECK_ELIGIBILITY),
    "277": ("277 claim status response", claim_status.apply_277, ClaimsPerm.SUBMIT),
}  # fmt: skip
"""Each kind: its label, its service, and the permission it takes (the desk, which checks
eligibility, uploads the 271 a payer's portal gave back; billers upload the rest)."""


@login_required
@permission_required(ClaimsPerm.SUBMIT, ClaimsPerm.CHECK_ELIGIBILITY)
def acks_apply(request: AuthenticatedHttpRequest) -> HttpResponse:
    allowed = {k: v for k, v in KINDS.items() if has_perm(request.user, v[2])}
    context: dict[str, object] = {"kinds": [(k, v[0]) for k, v in allowed.items()]}
    if request.method != "POST":
        return render(request, "claims/acks.html", context)
    kind = request.POST.get("kind", "")
    upload = request.FILES.get("file")
    context["kind"] = kind
    error = ""
    if kind not in allowed:
        error = f"Choose what the file is: {' or '.join(allowed)}."
    elif upload is None:
        error = "Choose the file to apply."
    elif upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        error = f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
    if error:
        context["error"] = error
        return render(request, "claims/acks.html", context, status=400)
    assert upload is not None
    try:
        result = KINDS[kind][1](upload.read(), actor=request.user, file_name=upload.name or "")
    except NotPermitted:
        raise
    except MedofficeError as exc:
        context["error"] = exc.message
        return render(request, "claims/acks.html", context, status=400)
    context["result"] = result
    return render(request, "claims/acks_result.html", context)
