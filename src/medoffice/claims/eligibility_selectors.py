"""Reads of eligibility requests: one, a coverage's or a patient's, and the ones still waiting
for their 271 (what check-in and chart prep show as "requested")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from medoffice.claims.models import (
    OPEN_STATUSES,
    Clearinghouse,
    EligibilityRequest,
    MailboxSubmission,
    RequestStatus,
    SubmissionStatus,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.access import has_perm
from medoffice.core.exceptions import NotFound
from medoffice.core.modules import is_enabled
from medoffice.core.selectors import practice_time_zone
from medoffice.patients.models import Coverage, EligibilityCheck
from medoffice.patients.permissions import PatientsPerm
from medoffice.patients.selectors import (
    CopayComparison,
    EligibilityAnswer,
    answer_of,
    copay_comparison_of,
)


def practice_clearinghouse() -> Clearinghouse | None:
    """The clearinghouse the practice sends through: the only active one, or (with several)
    the one its latest file went to, else the first by name."""
    active = Clearinghouse.objects.filter(is_active=True)
    latest = (
        MailboxSubmission.objects.filter(
            clearinghouse__is_active=True, status=SubmissionStatus.SENT
        )
        .order_by("-created_at", "-pk")
        .values_list("clearinghouse_id", flat=True)
        .first()
    )
    if latest is not None:
        return active.filter(pk=latest).first()
    return active.order_by("name", "pk").first()


def requests_of(
    *, coverage_id: int | None = None, patient_id: int | None = None
) -> QuerySet[EligibilityRequest]:
    found = EligibilityRequest.objects.select_related(
        "coverage__payer", "requested_by", "clearinghouse", "answer"
    ).order_by("-requested_at", "-pk")
    if coverage_id is not None:
        found = found.filter(coverage_id=coverage_id)
    if patient_id is not None:
        found = found.filter(coverage__patient_id=patient_id)
    return found


def request_by_id(request_id: int) -> EligibilityRequest:
    found = requests_of().filter(pk=request_id).first()
    if found is None:
        raise NotFound(f"No eligibility request {request_id}.")
    return found


def open_requests(coverage_ids: Iterable[int]) -> dict[int, EligibilityRequest]:
    """The latest request still waiting for its answer, per coverage (one query): one sent
    (or being sent) through a clearinghouse, or a 270 file downloaded for the payer's portal
    (its 271 is uploaded on the responses page); `status` tells which."""
    waiting: dict[int, EligibilityRequest] = {}
    for request in EligibilityRequest.objects.filter(
        coverage_id__in=list(coverage_ids), status__in=(*OPEN_STATUSES, RequestStatus.FILE)
    ).order_by("coverage_id", "-requested_at", "-pk"):
        waiting.setdefault(request.coverage_id, request)
    return waiting


def requested_at_subquery(coverage_ref: str = "pk") -> Subquery:
    """For an annotation on coverages: when the latest request still waiting was made."""
    return Subquery(
        EligibilityRequest.objects.filter(
            coverage_id=OuterRef(coverage_ref), status__in=OPEN_STATUSES
        )
        .order_by("-requested_at", "-pk")
        .values("requested_at")[:1]
    )


@dataclass
class CoverageEligibility:
    """One coverage's eligibility as the desk sees it: the latest answer, a request still
    waiting for its 271, and whether this user can ask (and how)."""

    coverage: Coverage
    answer: EligibilityAnswer | None
    waiting: EligibilityRequest | None
    can_request: bool
    clearinghouse: str  # the name the 270 goes to; "" when none is set up
    copay: CopayComparison | None = None  # the latest 271's copay next to the one on file
    can_edit_coverage: bool = False  # may take the 271's copay onto the coverage
    message: str = ""
    error: str = ""

    @property
    def askable(self) -> bool:
        return self.coverage.is_active and bool(self.coverage.payer.payer_id)


def _still_waiting(
    request: EligibilityRequest | None, check: EligibilityCheck | None
) -> EligibilityRequest | None:
    """A request shows as waiting until an answer (its 271, or a check made since) is on file."""
    if request is None or (check is not None and check.checked_at >= request.requested_at):
        return None
    return request


def coverage_eligibility(coverages: Iterable[Coverage], user: Any) -> list[CoverageEligibility]:
    """For each coverage (payer selected): its latest check, its waiting request and the
    "Check eligibility" button's state, in three queries whatever the number."""
    coverages = list(coverages)
    ids = [c.pk for c in coverages]
    latest: dict[int, EligibilityCheck] = {}
    for check in EligibilityCheck.objects.filter(coverage_id__in=ids).order_by(
        "coverage_id", "-checked_at", "-pk"
    ):
        latest.setdefault(check.coverage_id, check)
    waiting = open_requests(ids)
    allowed = is_enabled("claims") and has_perm(user, ClaimsPerm.CHECK_ELIGIBILITY)
    house = practice_clearinghouse() if allowed else None
    today = timezone.localtime(timezone.now(), ZoneInfo(practice_time_zone())).date()
    can_edit = has_perm(user, PatientsPerm.EDIT_PATIENTS)
    return [
        CoverageEligibility(
            coverage=c,
            answer=answer_of(latest.get(c.pk)),
            waiting=_still_waiting(waiting.get(c.pk), latest.get(c.pk)),
            can_request=allowed,
            clearinghouse=house.name if house is not None else "",
            copay=copay_comparison_of(c, latest.get(c.pk), today=today),
            can_edit_coverage=can_edit,
        )
        for c in coverages
    ]
