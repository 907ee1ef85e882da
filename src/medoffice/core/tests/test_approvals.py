"""Delegated authority: decisions within a limit pass at once, above it they wait for someone
whose limit covers them. Limits come from the roles' defaults (migration 0002):
purchase — owner no limit, manager $5,000, hr_payroll $250, front_desk $100."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from medoffice.core import services
from medoffice.core.exceptions import InvalidInput, InvalidTransition, NotPermitted
from medoffice.core.models import ApprovalRequest, ApprovalStatus, AuditAction, AuditEvent
from medoffice.core.services import approvals
from medoffice.testing import factories

pytestmark = pytest.mark.django_db


def _request(user, amount: str, kind: str = "purchase") -> ApprovalRequest:
    return services.approval_request(
        kind=kind, amount=Decimal(amount), description="Exam table", requested_by=user
    )


def _approval_events(request: ApprovalRequest):
    return list(
        AuditEvent.objects.filter(
            action=AuditAction.APPROVAL,
            object_type="core.approvalrequest",
            object_id=str(request.pk),
        ).order_by("id")
    )


def test_within_the_requesters_limit_it_is_approved_at_once_and_recorded(users):
    request = _request(users["front_desk"], "80.00")
    assert request.status == ApprovalStatus.APPROVED
    assert request.within_requester_authority
    assert request.decided_by == users["front_desk"]
    [event] = _approval_events(request)
    assert event.changes["auto"] is True and event.changes["status"] == "approved"


def test_exactly_at_the_limit_is_within_it(users):
    assert _request(users["front_desk"], "100.00").status == ApprovalStatus.APPROVED


def test_over_the_limit_it_waits_for_someone_whose_limit_covers_it(users):
    request = _request(users["front_desk"], "300.00")
    assert request.status == ApprovalStatus.PENDING
    assert request.decided_by is None
    assert request in services.pending_for(users["manager"])
    assert request in services.pending_for(users["owner"])
    assert request not in services.pending_for(users["hr_payroll"])  # $250 does not cover $300
    assert request not in services.pending_for(users["biller"])  # no purchase authority


def test_someone_whose_limit_is_too_small_is_refused(users):
    request = _request(users["front_desk"], "300.00")
    before = len(_approval_events(request))
    with pytest.raises(NotPermitted, match=r"\$250\.00"):
        services.approval_decide(
            request_id=request.pk, decided_by=users["hr_payroll"], approve=True
        )
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING and request.decided_by is None
    assert len(_approval_events(request)) == before


def test_a_manager_approves_within_their_limit(users):
    request = _request(users["front_desk"], "4999.99")
    decided = services.approval_decide(
        request_id=request.pk, decided_by=users["manager"], approve=True, note="budgeted"
    )
    assert decided.status == ApprovalStatus.APPROVED
    assert decided.decided_by == users["manager"]
    assert [e.changes["status"] for e in _approval_events(request)] == ["pending", "approved"]


def test_the_owner_with_no_limit_approves_any_amount(users):
    request = _request(users["manager"], "250000.00")
    assert request.status == ApprovalStatus.PENDING  # over the manager's $5,000
    assert request not in services.pending_for(users["manager"])
    decided = services.approval_decide(
        request_id=request.pk, decided_by=users["owner"], approve=True
    )
    assert decided.status == ApprovalStatus.APPROVED
    assert decided.decided_by == users["owner"]


def test_the_requester_cannot_approve_their_own_request(users):
    request = _request(users["manager"], "6000.00")
    with pytest.raises(NotPermitted, match="your own"):
        services.approval_decide(request_id=request.pk, decided_by=users["manager"], approve=True)
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


def test_a_rejection_needs_a_note(users):
    request = _request(users["front_desk"], "300.00")
    with pytest.raises(InvalidInput) as caught:
        services.approval_decide(
            request_id=request.pk, decided_by=users["manager"], approve=False, note="  "
        )
    assert caught.value.field == "note"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    decided = services.approval_decide(
        request_id=request.pk, decided_by=users["manager"], approve=False, note="not budgeted"
    )
    assert decided.status == ApprovalStatus.REJECTED
    assert decided.decision_note == "not budgeted"
    assert _approval_events(request)[-1].changes == {"status": "rejected", "note": "not budgeted"}


def test_a_decided_request_cannot_be_decided_again(users):
    request = _request(users["front_desk"], "300.00")
    services.approval_decide(request_id=request.pk, decided_by=users["manager"], approve=True)
    with pytest.raises(InvalidTransition):
        services.approval_decide(
            request_id=request.pk, decided_by=users["owner"], approve=False, note="changed my mind"
        )


def test_the_best_limit_of_several_roles_counts(practice):
    both = factories.user("front_desk")
    both.roles.add(*type(both.roles.first()).objects.filter(code="hr_payroll"))
    assert services.authority_of(both, "purchase") == Decimal("250.00")
    assert _request(both, "200.00").status == ApprovalStatus.APPROVED


def test_a_deactivated_user_has_no_authority(users):
    manager = users["manager"]
    manager.is_active = False
    manager.save()
    assert services.authority_of(manager, "purchase") == Decimal("0")
    with pytest.raises(NotPermitted):  # nor may they ask for a decision any more
        _request(manager, "10.00")
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(
    ("kind", "amount", "field"),
    [
        ("purchase", 12.5, "amount"),  # a float, not money
        ("purchase", Decimal("-1.00"), "amount"),
        ("lunch", Decimal("10.00"), "kind"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_written(users, kind, amount, field):
    count = ApprovalRequest.objects.count()
    with pytest.raises(InvalidInput) as caught:
        services.approval_request(
            kind=kind, amount=amount, description="x", requested_by=users["manager"]
        )
    assert caught.value.field == field
    assert ApprovalRequest.objects.count() == count


def test_modules_hear_about_decisions(users, monkeypatch):
    heard = []
    monkeypatch.setattr(approvals, "_approval_handlers", {"refund": [heard.append]})
    request = _request(users["front_desk"], "500.00", kind="refund")
    assert heard == []  # still waiting
    services.approval_decide(request_id=request.pk, decided_by=users["manager"], approve=True)
    assert [r.pk for r in heard] == [request.pk]


# --- The page and the API -----------------------------------------------------------------------


def test_the_approvals_page_shows_the_queue_and_decides(client_for, users):
    request = _request(users["front_desk"], "300.00")
    client = client_for("manager")
    page = client.get(reverse("core:approvals"))
    assert request in page.context["waiting"]
    response = client.post(
        reverse("core:approval_decide", args=[request.pk]), {"decision": "approve", "note": ""}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ApprovalStatus.APPROVED


def test_the_page_refuses_someone_whose_limit_is_too_small(client_for, users):
    request = _request(users["front_desk"], "300.00")
    response = client_for("hr_payroll").post(
        reverse("core:approval_decide", args=[request.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


def _json(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


def test_the_api_routes_by_limit(client_for, users):
    front_desk, manager, hr = (
        client_for("front_desk"),
        client_for("manager"),
        client_for("hr_payroll"),
    )
    within = _json(front_desk, "/api/approvals", {"kind": "purchase", "amount": "75.00",
                                                  "description": "Gloves"})  # fmt: skip
    assert within.status_code == 201 and within.json()["status"] == "approved"
    over = _json(front_desk, "/api/approvals", {"kind": "purchase", "amount": "300.00",
                                                "description": "Chair"})  # fmt: skip
    assert over.status_code == 201 and over.json()["status"] == "pending"
    pk = over.json()["id"]
    assert pk in [item["id"] for item in manager.get("/api/approvals/queue").json()]
    assert pk not in [item["id"] for item in hr.get("/api/approvals/queue").json()]
    assert _json(hr, f"/api/approvals/{pk}/approve").status_code == 403
    assert _json(front_desk, f"/api/approvals/{pk}/approve").status_code == 403
    rejected = _json(manager, f"/api/approvals/{pk}/reject", {"note": ""})
    assert rejected.status_code == 422 and "note" in rejected.json()["errors"]
    approved = _json(manager, f"/api/approvals/{pk}/approve", {"note": "ok"})
    assert (
        approved.status_code == 200 and approved.json()["decided_by"] == users["manager"].username
    )
    assert _json(manager, f"/api/approvals/{pk}/approve").status_code == 409
    mine = front_desk.get("/api/approvals/mine").json()
    assert {item["status"] for item in mine} == {"approved"}


def test_the_api_names_bad_fields(client_for):
    response = _json(client_for("manager"), "/api/approvals",
                     {"kind": "purchase", "amount": "-5", "description": ""})  # fmt: skip
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"amount", "description"}
    assert ApprovalRequest.objects.count() == 0


# --- Who may ask, and for how much ------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "kind"),
    [("auditor", "purchase"), ("clinician", "purchase"), ("hr_payroll", "refund"),
     ("hr_payroll", "write_off"), ("front_desk", "write_off")],
)  # fmt: skip
def test_a_role_without_authority_for_a_kind_cannot_request_it(client_for, role, kind):
    response = client_for(role).post(
        "/api/approvals", {"kind": kind, "amount": "10.00", "description": "Chairs"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403
    assert response.json()["field"] == "kind"
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(("role", "kind"), [("front_desk", "refund"), ("biller", "write_off"),
                                            ("hr_payroll", "purchase"), ("manager", "vendor_bill")])  # fmt: skip
def test_a_role_that_may_spend_on_a_kind_requests_it(client_for, role, kind):
    response = client_for(role).post(
        "/api/approvals", {"kind": kind, "amount": "10.00", "description": "Chairs"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201


@pytest.mark.parametrize("amount", ["0", "0.00", "0.001"])
def test_an_amount_of_zero_is_refused_even_for_the_owner(client_for, amount):
    response = client_for("owner").post(
        "/api/approvals", {"kind": "purchase", "amount": amount, "description": "Nothing"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 422
    assert "amount" in response.json()["errors"]
    assert not ApprovalRequest.objects.exists()
