"""Asking a payer about a coverage: the 270 written, recorded and sent through the practice's
clearinghouse mailbox, at most once per user and idempotency key; the 271 that answers it
(collected from the mailbox or uploaded) marks it answered (see `eligibility.apply_271`).

- The request row, with the 270 in it, is inserted and committed before the file goes out;
  its unique (requested_by, idempotency_key) decides which of several calls at once writes
  and sends: the others return that request and send nothing.
- The file goes out through `mailbox_services.submit_file` like an 837P batch, at most once
  by its name; a send that fails leaves the request "not sent" with the reason, and the same
  key sends it again.
- Without a clearinghouse nothing is written and the error says so; `eligibility_file` writes
  the 270 for a payer portal that takes uploads instead.

Do not call `request_eligibility` inside a transaction of your own (the file moves after the
row is committed).
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from medoffice.claims.batches import clearinghouse_exchange, practice_exchange
from medoffice.claims.eligibility import write_270
from medoffice.claims.eligibility_selectors import practice_clearinghouse
from medoffice.claims.mailbox_services import submit_file
from medoffice.claims.models import (
    OPEN_STATUSES,
    Clearinghouse,
    EligibilityRequest,
    RequestStatus,
    SubmissionStatus,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.context import acting_as, actor_for_service
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.models import User
from medoffice.core.role_permissions import require_perm
from medoffice.patients.models import Coverage

MAX_KEY = 100


def _key(idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key:
        raise InvalidInput("The request has no idempotency key.", field="idempotency_key")
    if len(key) > MAX_KEY:
        raise InvalidInput(
            f"The idempotency key is longer than {MAX_KEY} characters.", field="idempotency_key"
        )
    return key


def _earlier(actor: User, key: str, coverage: Coverage) -> EligibilityRequest | None:
    """A cheap look first (the unique key decides; the race tests switch this off)."""
    return _taken(actor, key, coverage)


def _taken(actor: User, key: str, coverage: Coverage) -> EligibilityRequest | None:
    found = EligibilityRequest.objects.filter(requested_by=actor, idempotency_key=key).first()
    if found is not None and found.coverage_id != coverage.pk:
        raise Conflict(
            "This idempotency key was used for another coverage's eligibility request.",
            field="idempotency_key",
        )
    return found


def _check_coverage(coverage: Coverage) -> None:
    if not coverage.is_active:
        raise InvalidInput(
            "This coverage was withdrawn: there is nothing to ask the payer.", field="coverage"
        )
    if not coverage.payer.payer_id:
        raise InvalidInput(
            f"{coverage.payer.name} has no electronic payer id: set it on the payer before "
            "asking electronically, or call the payer and record what it said.",
            field="coverage",
        )


def _record(
    *,
    actor: User,
    coverage: Coverage,
    key: str,
    clearinghouse: Clearinghouse | None,
) -> tuple[EligibilityRequest, bool]:
    """Write the 270 and insert its request; (the request, whether this call made it)."""
    exchange = (
        clearinghouse_exchange(clearinghouse) if clearinghouse is not None else practice_exchange()
    )
    try:
        with transaction.atomic():
            written = write_270(coverage, actor=actor, exchange=exchange)
            name = f"270-{written.submitter_id}-{written.interchange:09d}.x12"
            made = EligibilityRequest.objects.create(
                coverage=coverage,
                status=RequestStatus.SENDING if clearinghouse else RequestStatus.FILE,
                trace_number=written.trace_number,
                submitter_id=written.submitter_id,
                interchange_control_number=written.interchange,
                file_name=name,
                sha256=hashlib.sha256(written.content).hexdigest(),
                content=written.content,
                service_date=written.service_date,
                clearinghouse=clearinghouse,
                idempotency_key=key,
                requested_by=actor,
            )
    except IntegrityError:
        # Another call with this key committed first (it waited on the unique key): theirs.
        found = _taken(actor, key, coverage)
        if found is None:
            raise
        return found, False
    return made, True


def _send(actor: User, request: EligibilityRequest) -> EligibilityRequest:
    assert request.clearinghouse is not None
    submission = submit_file(
        actor=actor,
        clearinghouse=request.clearinghouse,
        name=request.file_name,
        content=bytes(request.content),
        idempotency_key=f"eligibility-request-{request.pk}",
        permission=ClaimsPerm.CHECK_ELIGIBILITY,
    )
    request.submission = submission
    if submission.status == SubmissionStatus.SENT:
        request.status = RequestStatus.PENDING
        request.sent_at = submission.sent_at or timezone.now()
        request.error = ""
    elif submission.status == SubmissionStatus.FAILED:
        request.status = RequestStatus.FAILED
        request.error = submission.error or "The file was not sent."
    else:  # another call is sending it right now
        return request
    # Conditional: a 271 that came back meanwhile keeps the request answered.
    EligibilityRequest.objects.filter(pk=request.pk, status__in=(*OPEN_STATUSES, RequestStatus.FAILED)).update(
        status=request.status, sent_at=request.sent_at, error=request.error,
        submission=submission,
    )  # fmt: skip
    request.refresh_from_db()
    return request


def request_eligibility(
    coverage: Coverage,
    actor: User,
    *,
    clearinghouse: Clearinghouse | None = None,
    idempotency_key: str,
) -> EligibilityRequest:
    """Write a 270 for the coverage (today, service type 30) and send it through the
    clearinghouse (the practice's, when none is named), at most once per user and key.

    The same key again returns the first request (and sends a failed one again); no
    clearinghouse set up is an InvalidInput naming it, with nothing written. The audit
    events name `actor`.
    """
    return ask_eligibility(
        coverage, actor, clearinghouse=clearinghouse, idempotency_key=idempotency_key
    )[0]


def ask_eligibility(
    coverage: Coverage,
    actor: User,
    *,
    clearinghouse: Clearinghouse | None = None,
    idempotency_key: str,
) -> tuple[EligibilityRequest, bool]:
    """`request_eligibility`, and whether this call made the request (False: the key's
    earlier one, decided by the unique key even when calls race)."""
    with acting_as(actor_for_service(actor)):
        return _request(
            coverage, actor, clearinghouse=clearinghouse, idempotency_key=idempotency_key
        )


def _request(
    coverage: Coverage,
    actor: User,
    *,
    clearinghouse: Clearinghouse | None,
    idempotency_key: str,
) -> tuple[EligibilityRequest, bool]:
    require_perm(actor, ClaimsPerm.CHECK_ELIGIBILITY)
    key = _key(idempotency_key)
    earlier = _earlier(actor, key, coverage)
    if earlier is not None:
        if earlier.status == RequestStatus.FAILED:
            return _send(actor, earlier), False
        return earlier, False
    if clearinghouse is None:
        clearinghouse = practice_clearinghouse()
        if clearinghouse is None:
            raise InvalidInput(
                "No clearinghouse is set up to send eligibility requests through: add one "
                "under Claims > Clearinghouses, or download the 270 file for the payer's "
                "portal.",
                field="clearinghouse",
            )
    elif not clearinghouse.is_active:
        raise InvalidInput(
            f"{clearinghouse.name} is switched off: nothing is sent to it.",
            field="clearinghouse",
        )
    _check_coverage(coverage)
    request, mine = _record(actor=actor, coverage=coverage, key=key, clearinghouse=clearinghouse)
    if not mine:
        return request, False
    return _send(actor, request), True


def eligibility_file(
    coverage: Coverage, actor: User, *, idempotency_key: str
) -> EligibilityRequest:
    """Write and record a 270 for the desk to upload to the payer's portal (no clearinghouse
    needed); the 271 the portal gives back is uploaded on the responses page."""
    with acting_as(actor_for_service(actor)):
        require_perm(actor, ClaimsPerm.CHECK_ELIGIBILITY)
        key = _key(idempotency_key)
        earlier = _earlier(actor, key, coverage)
        if earlier is not None:
            return earlier
        _check_coverage(coverage)
        return _record(actor=actor, coverage=coverage, key=key, clearinghouse=None)[0]
