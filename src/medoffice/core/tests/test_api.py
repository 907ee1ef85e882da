"""The foundation's API beyond the matrix: token and session auth, answers, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from medoffice.core import services
from medoffice.core.models import ApiToken, AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_me_names_roles_and_permissions(client_for, users):
    body = client_for("auditor").get("/api/me").json()
    assert body["username"] == users["auditor"].username
    assert body["roles"] == [{"code": "auditor", "name": "Auditor"}]
    assert "core.view_audit" in body["permissions"]
    assert "core.manage_users" not in body["permissions"]


def test_a_token_carries_its_users_permissions(users):
    _, auditor = services.api_token_create(user=users["auditor"], name="reports")
    _, desk = services.api_token_create(user=users["front_desk"], name="kiosk")
    assert Client().get("/api/audit", **_bearer(auditor)).status_code == 200
    assert Client().get("/api/audit", **_bearer(desk)).status_code == 403


@pytest.mark.parametrize("state", ["revoked", "expired", "unknown"])
def test_a_dead_token_gets_401(users, state):
    token, raw = services.api_token_create(user=users["auditor"], name="reports")
    if state == "revoked":
        services.api_token_revoke(user=users["auditor"], token_id=token.pk)
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    else:
        raw = raw[:-4] + "xxxx"
    assert Client().get("/api/me", **_bearer(raw)).status_code == 401


def test_writes_by_token_name_the_tokens_user_in_the_audit_trail(users, practice):
    _, raw = services.api_token_create(user=users["manager"], name="sync")
    response = Client().post(
        "/api/locations",
        {"name": "Annex", "address_line1": "5 Pine St", "city": "Springfield", "state": "IL",
         "zip_code": "62701"},
        content_type="application/json", **_bearer(raw),
    )  # fmt: skip
    assert response.status_code == 201
    event = AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="core.location").last()
    assert event.actor_id == users["manager"].pk


def test_missing_fields_are_named(client_for, practice):
    response = client_for("manager").post("/api/locations", {"name": "Annex"},
                                          content_type="application/json")  # fmt: skip
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"address_line1", "city", "state", "zip_code"}


def test_an_unknown_record_is_404_on_the_api_and_on_pages(client_for):
    client = client_for("manager")
    assert client.get("/api/locations/999999").status_code == 404
    assert client.get("/api/users/999999").status_code == 404
    page = client.get(reverse("core:staff_detail", args=[999999]))
    assert page.status_code == 404
    assert b"No user with id 999999" in page.content


def test_the_openapi_document_lists_the_foundation(client_for):
    schema = client_for("manager").get("/api/openapi.json").json()
    for path in ("/api/me", "/api/practice", "/api/users", "/api/approvals", "/api/audit",
                 "/api/modules"):  # fmt: skip
        assert path in schema["paths"], path
