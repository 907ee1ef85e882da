"""Passwords and API tokens: a reset or a deactivation ends the person's tokens (page and API);
changing one's own password needs the current one (a session or a token alone is not enough)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from medoffice.core import services
from medoffice.core.models import ApiToken
from medoffice.testing.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW = "a-new-long-passphrase"


def _token(user) -> str:
    return services.api_token_create(user=user, name="script")[1]


def _works(raw: str) -> bool:
    return Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def _api(raw: str, method: str, url: str, body: dict):
    return getattr(Client(), method)(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )


# --- A reset or a deactivation ends their tokens ---------------------------------------------


def test_a_password_reset_on_the_page_revokes_their_tokens(client_for, users):
    member = users["biller"]
    raw = _token(member)
    assert _works(raw)
    response = client_for("manager").post(
        reverse("core:staff_password", args=[member.pk]), {"password": NEW}
    )
    assert response.status_code == 302
    assert not _works(raw)
    assert ApiToken.objects.get(user=member).revoked_at is not None


def test_a_password_reset_through_the_api_revokes_their_tokens(users):
    member, manager_token = users["biller"], _token(users["manager"])
    raw = _token(member)
    response = _api(manager_token, "post", f"/api/users/{member.pk}/password", {"password": NEW})
    assert response.status_code == 200
    assert not _works(raw)
    assert _works(manager_token)  # the manager's own token is untouched


def test_deactivation_through_the_api_revokes_their_tokens(users):
    member, manager_token = users["front_desk"], _token(users["manager"])
    raw = _token(member)
    response = _api(manager_token, "patch", f"/api/users/{member.pk}", {"is_active": False})
    assert response.status_code == 200
    assert not _works(raw)


def test_deactivation_on_the_page_revokes_their_tokens(client_for, users):
    member = users["front_desk"]
    raw = _token(member)
    client_for("manager").post(reverse("core:staff_action", args=[member.pk, "deactivate"]))
    assert not _works(raw)


# --- One's own password needs the current one ------------------------------------------------


def test_a_token_alone_cannot_change_its_owners_password(users):
    manager = users["manager"]
    raw = _token(manager)
    response = _api(raw, "post", f"/api/users/{manager.pk}/password", {"password": NEW})
    assert response.status_code == 422
    assert "current_password" in response.json()["errors"]
    manager.refresh_from_db()
    assert manager.check_password(DEFAULT_PASSWORD) and not manager.check_password(NEW)
    wrong = _api(
        raw, "post", f"/api/users/{manager.pk}/password",
        {"password": NEW, "current_password": "not-it-at-all"},
    )  # fmt: skip
    assert wrong.status_code == 422
    manager.refresh_from_db()
    assert manager.check_password(DEFAULT_PASSWORD)


def test_the_api_changes_ones_own_password_with_the_current_one(users):
    manager = users["manager"]
    raw = _token(manager)
    response = _api(
        raw, "post", f"/api/users/{manager.pk}/password",
        {"password": NEW, "current_password": DEFAULT_PASSWORD},
    )  # fmt: skip
    assert response.status_code == 200
    manager.refresh_from_db()
    assert manager.check_password(NEW)
    assert not _works(raw)  # a new password ends the old tokens too


def test_a_session_alone_cannot_change_its_owners_password_on_the_page(client_for, users):
    manager = users["manager"]
    client = client_for("manager")
    page = reverse("core:staff_password", args=[manager.pk])
    assert (
        "current_password"
        in client.get(reverse("core:staff_detail", args=[manager.pk]))
        .context["password_form"]
        .fields
    )
    response = client.post(page, {"password": NEW})
    assert response.status_code == 422
    assert "current_password" in response.context["password_form"].errors
    manager.refresh_from_db()
    assert manager.check_password(DEFAULT_PASSWORD)
    response = client.post(page, {"password": NEW, "current_password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.check_password(NEW)
    # This session goes on with the new password.
    assert client.get(reverse("core:staff_detail", args=[manager.pk])).status_code == 200


def test_resetting_someone_elses_password_does_not_ask_for_yours(client_for, users):
    detail = client_for("manager").get(reverse("core:staff_detail", args=[users["biller"].pk]))
    assert "current_password" not in detail.context["password_form"].fields
