"""Money decisions: approved at once within the requester's authority, otherwise queued for
someone whose authority covers them; modules register what follows a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from medoffice.core import audit, money
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotFound, NotPermitted
from medoffice.core.models import ApprovalRequest, ApprovalStatus, AuditAction, DecisionKind, User
from medoffice.core.services.authority import authority_of, covers, may_request


def _check_decision(kind: str, amount: object) -> Decimal:
    if kind not in DecisionKind.values:
        raise InvalidInput(f"Unknown kind of decision {kind!r}.", field="kind")
    return money.parse_money(amount, field="amount")


ApprovalHandler = Callable[[ApprovalRequest], None]
_approval_handlers: dict[str, list[ApprovalHandler]] = {}


def on_approval_decided(kind: str, handler: ApprovalHandler) -> None:
    """Later modules register what happens when a decision of their kind is approved or rejected."""
    _approval_handlers.setdefault(kind, []).append(handler)


def _notify(request: ApprovalRequest) -> None:
    for handler in _approval_handlers.get(request.kind, []):
        handler(request)


@transaction.atomic
@binds_actor("requested_by")
def approval_request(
    *,
    kind: str,
    amount: Decimal,
    description: str,
    requested_by: User,
    subject: Model | None = None,
    counted: Decimal | None = None,
) -> ApprovalRequest:
    """Record a money decision: approved at once within the requester's limit, otherwise queued.
    `counted` is what the requester's authority must cover when it is more than this request:
    a refund counts the asker's own refunds of the day, so splitting one does not escape it."""
    amount = _check_decision(kind, amount)
    if not may_request(requested_by, kind):
        raise NotPermitted(
            f"Your role has no authority for {DecisionKind(kind).label.lower()}; "
            "someone whose role may spend on it makes the request.",
            field="kind",
        )
    if not description.strip():
        raise InvalidInput("description: say what is being decided.", field="description")
    within = covers(requested_by, kind, max(amount, counted or amount))
    now = timezone.now()
    request = ApprovalRequest.objects.create(
        kind=kind,
        amount=amount,
        description=description.strip()[:300],
        subject_type=audit.object_label(subject) if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        requested_by=requested_by,
        status=ApprovalStatus.APPROVED if within else ApprovalStatus.PENDING,
        decided_by=requested_by if within else None,
        decided_at=now if within else None,
        decision_note="within the requester's delegated authority" if within else "",
        within_requester_authority=within,
    )
    audit.record(
        AuditAction.APPROVAL,
        obj=request,
        changes={"status": request.status, "amount": str(amount), "kind": kind, "auto": within},
    )
    if within:
        _notify(request)
    return request


def pending_for(user: User) -> QuerySet[ApprovalRequest]:
    """The queue a user can act on: pending requests whose amount their authority covers."""
    coverable = Q(pk__in=[])
    for kind in DecisionKind.values:
        limit = authority_of(user, kind)
        if limit is None:
            coverable |= Q(kind=kind)
        elif limit > 0:
            coverable |= Q(kind=kind, amount__lte=limit)
    return (
        ApprovalRequest.objects.filter(coverable, status=ApprovalStatus.PENDING)
        .exclude(requested_by=user)
        .select_related("requested_by")
    )


@transaction.atomic
@binds_actor("decided_by")
def approval_decide(
    *, request_id: int, decided_by: User, approve: bool, note: str = ""
) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No approval request #{request_id}.")
    if request.status != ApprovalStatus.PENDING:
        raise InvalidTransition(f"This request is already {request.get_status_display().lower()}.")
    if request.requested_by_id == decided_by.pk:
        raise NotPermitted("You cannot approve your own request.")
    if not covers(decided_by, request.kind, request.amount):
        limit = authority_of(decided_by, request.kind)
        raise NotPermitted(
            f"Your authority for {request.get_kind_display().lower()} is ${limit:,.2f}; "
            f"this request is ${request.amount:,.2f}."
        )
    if not approve and not note.strip():
        raise InvalidInput("note: give the reason for rejecting.", field="note")
    request.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    request.decided_by = decided_by
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:300]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        AuditAction.APPROVAL,
        obj=request,
        changes={"status": request.status, "note": request.decision_note},
    )
    _notify(request)
    return request


@transaction.atomic
@binds_actor("cancelled_by")
def approval_cancel(*, request_id: int, cancelled_by: User) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No approval request #{request_id}.")
    if request.requested_by_id != cancelled_by.pk:
        raise NotPermitted("Only the requester can cancel a request.")
    if request.status != ApprovalStatus.PENDING:
        raise InvalidTransition(f"This request is already {request.get_status_display().lower()}.")
    request.status = ApprovalStatus.CANCELLED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit.record(AuditAction.APPROVAL, obj=request, changes={"status": request.status})
    _notify(request)  # the subject stops waiting (a refund no longer holds the credit)
    return request
