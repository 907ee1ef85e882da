"""One-time form tokens for the pages that take money (docs/adr/0010-idempotent-money-writes.md).

A page issues a signed token in a hidden field (``issue``); the view hands the write to
``spend``, which inserts the token (unique) in the same transaction as the write and keeps
where the write led. A double click or a resubmitted form finds the token spent, or waits for
the first submit to commit and then finds it, and is sent to the first result instead of
writing again. A write that fails spends nothing: the form comes back with the same token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import get_random_string

from medoffice.core.exceptions import InvalidInput
from medoffice.core.models import FormSubmission

FIELD = "form_token"
VALID_FOR = timedelta(hours=12)  # a form left open longer must be sent again
KEEP_FOR = timedelta(hours=24)  # spent tokens are remembered longer than a token is valid
_EXPIRED = "This form has expired or was not issued here; check the entries and send it again."


@dataclass(frozen=True)
class Spent:
    url: str  # where the write led (a receipt, the page again …)
    replayed: bool  # True: the form had been sent before; nothing was written this time


def _signer(request: HttpRequest, purpose: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"medoffice.once:{request.user.pk}:{purpose}")


def issue(request: HttpRequest, purpose: str) -> str:
    """A fresh token for one form on one page, bound to the signed-in user and the purpose."""
    return _signer(request, purpose).sign(get_random_string(32))


def current(request: HttpRequest, purpose: str) -> str:
    """The token to render: the posted one while it is still good (a form shown again after an
    error keeps its token, so sending it twice still posts once), otherwise a fresh one."""
    if request.method == "POST":
        try:
            _nonce(request, purpose)
        except InvalidInput:
            pass
        else:
            return request.POST.get(FIELD, "")
    return issue(request, purpose)


def _nonce(request: HttpRequest, purpose: str) -> str:
    token = request.POST.get(FIELD, "")
    try:
        return _signer(request, purpose).unsign(token, max_age=VALID_FOR)
    except signing.BadSignature:
        raise InvalidInput(_EXPIRED, field=FIELD) from None


def spend(request: HttpRequest, purpose: str, write: Callable[[], str]) -> Spent:
    """Run ``write`` (which returns the URL of its result) at most once for the posted token.

    Raises InvalidInput (field ``form_token``) for a missing, forged or expired token, and
    whatever ``write`` raises (nothing is spent then).
    """
    nonce = _nonce(request, purpose)
    done = FormSubmission.objects.filter(token=nonce).first()
    if done is not None:
        return Spent(url=done.result_url, replayed=True)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = FormSubmission.objects.create(
                    token=nonce, user=request.user, purpose=purpose, created_at=timezone.now()
                )
        except IntegrityError:
            # The same form was being sent at the same moment; it has committed now.
            return Spent(url=FormSubmission.objects.get(token=nonce).result_url, replayed=True)
        url = write()
        row.result_url = url[:300]
        row.save(update_fields=["result_url"])
    return Spent(url=url, replayed=False)


def expire_tokens(*, now: datetime | None = None) -> int:
    """Forget spent tokens older than KEEP_FOR; returns how many were deleted."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
