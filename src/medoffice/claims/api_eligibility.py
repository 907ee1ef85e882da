"""JSON API of eligibility requests: /api/claims/eligibility-requests (send a 270, list them)
and /api/claims/eligibility-requests/{id} (one, with the 271's answer once it came).

The same permission as the pages (claims.check_eligibility) and the patient's record
(the caller must be able to see the patient). Sending takes the Idempotency-Key header
(required, checked as on every endpoint by `core.api_keys.check_key`): the service keeps one
request per user and key in its own table, committed before the file goes out, so the same key
again answers the first request (200) and sends nothing.
"""

from datetime import date, datetime
from typing import Any

from ninja import Field, Query, Router, Schema, Status

from medoffice.claims import eligibility_requests as services
from medoffice.claims import eligibility_selectors as selectors
from medoffice.claims.models import Clearinghouse, EligibilityRequest
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core import audit
from medoffice.core.api_auth import requires, user_of
from medoffice.core.exceptions import InvalidInput
from medoffice.core.idempotency import honour_keys, idempotent, service_key
from medoffice.patients.models import Coverage
from medoffice.patients.selectors import coverage_for_user, patient_for_user

router = Router(tags=["eligibility"])
router.add_decorator(honour_keys, mode="view")  # documents the Idempotency-Key

MAX_REQUESTS = 200


class EligibilityRequestIn(Schema):
    coverage_id: int = Field(..., ge=1, description="the coverage to ask its payer about")
    clearinghouse_id: int | None = Field(
        None, ge=1, description="where to send it; the practice's clearinghouse when left out"
    )


class AnswerOut(Schema):
    eligibility_check_id: int
    status: str = Field(..., description="active, inactive or unknown")
    checked_at: datetime
    benefits: dict[str, Any] = Field(
        ..., description="plan, copay, deductible and remaining, coinsurance, out-of-pocket"
    )


class EligibilityRequestOut(Schema):
    id: int
    coverage_id: int
    patient_id: int
    payer: str
    status: str = Field(..., description="sending, pending, failed, file or answered")
    status_text: str
    trace_number: str
    file_name: str
    service_date: date
    clearinghouse: str | None
    error: str
    requested_by: str
    requested_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    answer: AnswerOut | None


class RequestFilters(Schema):
    coverage_id: int | None = Field(None, ge=1)
    patient_id: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=MAX_REQUESTS)


def _out(request: EligibilityRequest) -> dict[str, Any]:
    check = request.answer
    return {
        "id": request.pk, "coverage_id": request.coverage_id,
        "patient_id": request.coverage.patient_id, "payer": request.coverage.payer.name,
        "status": request.status, "status_text": request.get_status_display(),
        "trace_number": request.trace_number, "file_name": request.file_name,
        "service_date": request.service_date,
        "clearinghouse": request.clearinghouse.name if request.clearinghouse else None,
        "error": request.error, "requested_by": request.requested_by.get_username(),
        "requested_at": request.requested_at, "sent_at": request.sent_at,
        "answered_at": request.answered_at,
        "answer": None if check is None else {
            "eligibility_check_id": check.pk, "status": check.status,
            "checked_at": check.checked_at, "benefits": check.benefits,
        },
    }  # fmt: skip


def _coverage(user: Any, coverage_id: int) -> Coverage:
    return coverage_for_user(user, coverage_id, field="coverage_id")  # 404 or 403 as the record


@router.post(
    "/eligibility-requests",
    response={200: EligibilityRequestOut, 201: EligibilityRequestOut},
    summary="Send a 270 eligibility request for a coverage (Idempotency-Key required)",
)
@requires(ClaimsPerm.CHECK_ELIGIBILITY)
@idempotent(required=True, kept_by_service=True)
def eligibility_request_create(request, payload: EligibilityRequestIn):
    """201 with the new request (pending once sent, failed with the reason when the send
    failed); 200 with the first request when the key was used before (the service says which:
    its unique key decides, even when calls race)."""
    actor = user_of(request)
    key = service_key(request)
    coverage = _coverage(actor, payload.coverage_id)
    clearinghouse = None
    if payload.clearinghouse_id is not None:
        clearinghouse = Clearinghouse.objects.filter(pk=payload.clearinghouse_id).first()
        if clearinghouse is None:
            raise InvalidInput(
                f"No clearinghouse with id {payload.clearinghouse_id}.", field="clearinghouse_id"
            )
    made, new = services.ask_eligibility(
        coverage, actor, clearinghouse=clearinghouse, idempotency_key=key
    )
    return Status(201 if new else 200, _out(selectors.request_by_id(made.pk)))


@router.get(
    "/eligibility-requests",
    response=list[EligibilityRequestOut],
    summary="Eligibility requests, newest first, of a coverage or a patient",
)
@requires(ClaimsPerm.CHECK_ELIGIBILITY)
def eligibility_request_list(request, filters: Query[RequestFilters]):
    actor = user_of(request)
    if filters.coverage_id is None and filters.patient_id is None:
        raise InvalidInput("Give a coverage_id or a patient_id.", field="coverage_id")
    patient_id = filters.patient_id
    if filters.coverage_id is not None:
        coverage = _coverage(actor, filters.coverage_id)
        if patient_id is not None and patient_id != coverage.patient_id:
            return []
        patient_id = coverage.patient_id
    else:
        assert patient_id is not None
        patient_for_user(actor, patient_id)
    found = list(
        selectors.requests_of(coverage_id=filters.coverage_id, patient_id=patient_id)[
            : filters.limit
        ]
    )
    audit.record_list(
        "claims.eligibilityrequest", patient_ids=[patient_id],
        description="eligibility requests",
        filters={"coverage_id": filters.coverage_id or "", "patient_id": patient_id},
    )  # fmt: skip
    return [_out(r) for r in found]


@router.get(
    "/eligibility-requests/{request_id}",
    response=EligibilityRequestOut,
    summary="One eligibility request, with the 271's answer once it came",
)
@requires(ClaimsPerm.CHECK_ELIGIBILITY)
def eligibility_request_read(request, request_id: int):
    found = selectors.request_by_id(request_id)
    patient_for_user(user_of(request), found.coverage.patient_id)
    return _out(found)
