"""Security of the foundation, through the real pages: lockout, session limits, logout and
deactivation, two-factor, CSRF, headers, password hashing, encryption at rest, emergency access."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from medoffice.core import services
from medoffice.core.middleware import SESSION_LAST_SEEN, SESSION_LOGIN_AT
from medoffice.core.models import (
    ApiToken,
    AuditAction,
    AuditEvent,
    EmergencyAccessGrant,
    Practice,
    TOTPAuthenticator,
)
from medoffice.testing import factories
from medoffice.testing.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("core:login")
HOME = reverse("dashboard:home")


def _sign_in(client: Client, user, password: str = DEFAULT_PASSWORD):
    return client.post(LOGIN, {"username": user.username, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _last_event(action: str) -> AuditEvent | None:
    return AuditEvent.objects.filter(action=action).order_by("id").last()


# --- Lockout after failed sign-ins ----------------------------------------------------------------


def test_a_failed_sign_in_writes_an_audit_event(users):
    response = _sign_in(Client(), users["biller"], "not-the-password")
    assert response.status_code == 200
    event = _last_event(AuditAction.LOGIN_FAILED)
    assert event.changes == {"username": users["biller"].username}
    assert event.actor_id is None and event.ip_address == "127.0.0.1"


def test_the_account_locks_after_the_limit_even_with_the_right_password(users):
    user, client = users["biller"], Client()
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [_sign_in(client, user, f"wrong-{n}").status_code for n in range(limit)]
    assert statuses == [200] * (limit - 1) + [429]
    response = _sign_in(client, user)  # the right password
    assert response.status_code == 429
    assert b"Account locked" in response.content
    assert not _signed_in(client)
    assert client.get(HOME).status_code == 302
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, object_repr=user.username)
    assert failed.count() == limit + 1


def test_the_lock_is_per_account_not_per_address(users):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, users["biller"], f"wrong-{n}")
    response = _sign_in(client, users["front_desk"])  # same address, another account
    assert response.status_code == 302
    assert _signed_in(client)


def test_a_manager_unlocks_a_locked_account(users, client_for):
    user = users["biller"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(Client(), user, f"wrong-{n}")
    manager = client_for("manager")
    page = manager.get(reverse("core:staff_detail", args=[user.pk]))
    assert page.context["locked"] is True
    manager.post(reverse("core:staff_action", args=[user.pk, "unlock"]))
    client = Client()
    assert _sign_in(client, user).status_code == 302
    assert _signed_in(client)


# --- Session limits -------------------------------------------------------------------------------


def _set_session(client: Client, **values) -> str:
    session = client.session
    for key, value in values.items():
        session[key] = value
    session.save()
    return session.session_key


def test_a_sign_in_starts_the_session_clock(users):
    client = Client()
    before = time.time()
    _sign_in(client, users["front_desk"])
    assert client.session[SESSION_LOGIN_AT] >= before
    assert client.session[SESSION_LAST_SEEN] >= before


def test_inactivity_logs_off_and_ends_the_session_on_the_server(client_for, users):
    client = client_for("front_desk")
    idle = settings.MEDOFFICE_IDLE_MINUTES * 60
    key = _set_session(client, **{SESSION_LAST_SEEN: time.time() - idle - 5})
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?expired=1")
    assert not Session.objects.filter(session_key=key).exists()
    event = _last_event(AuditAction.SESSION_EXPIRED)
    assert event.actor_id == users["front_desk"].pk and "inactivity" in event.reason


def test_just_under_the_idle_limit_the_session_lives_on(client_for):
    client = client_for("front_desk")
    idle = settings.MEDOFFICE_IDLE_MINUTES * 60
    _set_session(client, **{SESSION_LAST_SEEN: time.time() - idle + 30})
    assert client.get(HOME).status_code == 200
    assert client.session[SESSION_LAST_SEEN] > time.time() - 5  # activity counted


def test_background_requests_do_not_count_as_activity(client_for):
    client = client_for("front_desk")
    idle = settings.MEDOFFICE_IDLE_MINUTES * 60
    quiet_since = time.time() - idle + 60
    _set_session(client, **{SESSION_LAST_SEEN: quiet_since})
    response = client.get(HOME, HTTP_X_MEDOFFICE_BACKGROUND="1")
    assert response.status_code == 200
    assert client.session[SESSION_LAST_SEEN] == quiet_since
    # Two minutes later (the refreshes did not keep it alive), the session has ended.
    _set_session(client, **{SESSION_LAST_SEEN: quiet_since - 120})
    assert client.get(HOME, HTTP_X_MEDOFFICE_BACKGROUND="1").status_code == 302


def test_the_session_ends_twelve_hours_after_sign_in_whatever_the_activity(client_for):
    client = client_for("front_desk")
    now = time.time()
    key = _set_session(
        client,
        **{SESSION_LOGIN_AT: now - settings.MEDOFFICE_SESSION_MAX_HOURS * 3600 - 1,
           SESSION_LAST_SEEN: now - 10},
    )  # fmt: skip
    response = client.get(HOME)
    assert response.status_code == 302 and "expired=1" in response["Location"]
    assert not Session.objects.filter(session_key=key).exists()
    assert "12 hours" in _last_event(AuditAction.SESSION_EXPIRED).reason


def test_an_expired_session_gets_401_from_the_api(client_for):
    client = client_for("front_desk")
    _set_session(client, **{SESSION_LAST_SEEN: time.time() - 24 * 3600})
    response = client.get("/api/me")
    assert response.status_code == 401


def test_logout_ends_the_session_on_the_server(users):
    client = Client()
    _sign_in(client, users["front_desk"])
    key = client.session.session_key
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = key
    assert stolen.get(HOME).status_code == 200
    assert client.post(reverse("core:logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert stolen.get(HOME).status_code == 302  # the copied cookie no longer works
    assert _last_event(AuditAction.LOGOUT).actor_id == users["front_desk"].pk


def test_logout_is_post_only(client_for):
    client = client_for("front_desk")
    assert client.get(reverse("core:logout")).status_code == 405
    assert client.get(HOME).status_code == 200


def test_deactivation_ends_sessions_and_tokens(client_for, users):
    member = users["front_desk"]
    their_client = client_for("front_desk")
    key = their_client.session.session_key
    _, raw = services.api_token_create(user=member, name="script")
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    response = client_for("manager").post(
        reverse("core:staff_action", args=[member.pk, "deactivate"])
    )
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert their_client.get(HOME).status_code == 302
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert ApiToken.objects.get(user=member).revoked_at is not None
    assert _sign_in(Client(), member).status_code == 200  # cannot sign in again
    event = AuditEvent.objects.filter(
        action=AuditAction.SECURITY, object_type="core.user", object_id=str(member.pk)
    ).last()
    assert event.changes == {"deactivated": True, "sessions_ended": 1, "tokens_revoked": 1}


def test_a_password_reset_ends_their_sessions(client_for, users):
    member = users["biller"]
    their_client = client_for("biller")
    response = client_for("manager").post(
        reverse("core:staff_password", args=[member.pk]), {"password": "a-new-long-passphrase"}
    )
    assert response.status_code == 302
    assert their_client.get(HOME).status_code == 302
    assert _sign_in(Client(), member, "a-new-long-passphrase").status_code == 302


# --- Two-factor -----------------------------------------------------------------------------------


@pytest.fixture
def two_factor_on(practice):
    Practice.objects.filter(pk=practice.pk).update(require_two_factor=True)


def _current_code(device: TOTPAuthenticator) -> str:
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


@pytest.mark.parametrize("role", ["owner", "manager", "hr_payroll"])
def test_two_factor_roles_must_pass_totp_before_any_page(two_factor_on, users, role):
    client = Client()
    assert _sign_in(client, users[role]).status_code == 302
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:two_factor"))
    assert client.get(reverse("core:api_tokens")).status_code == 302  # no side door
    assert client.get("/api/me").status_code == 403  # nor through the API session
    setup = client.get(reverse("core:two_factor"))
    assert setup.status_code == 200 and setup.context["setup"] is True
    device = TOTPAuthenticator.objects.get(user=users[role])
    response = client.post(
        reverse("core:two_factor") + "?next=" + HOME,
        {"token": _current_code(device), "next": HOME},
    )
    assert response.status_code == 302 and response["Location"] == HOME
    assert client.get(HOME).status_code == 200
    assert client.get("/api/me").json()["two_factor_verified"] is True
    device.refresh_from_db()
    assert device.confirmed


@pytest.mark.parametrize("role", ["front_desk", "biller", "clinician", "auditor"])
def test_other_roles_sign_in_with_a_password(two_factor_on, users, role):
    client = Client()
    _sign_in(client, users[role])
    assert client.get(HOME).status_code == 200


def test_a_wrong_code_is_refused_and_audited(two_factor_on, users):
    client = Client()
    _sign_in(client, users["manager"])
    client.get(reverse("core:two_factor"))
    device = TOTPAuthenticator.objects.get(user=users["manager"])
    wrong = f"{(int(_current_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("core:two_factor"), {"token": wrong})
    assert response.status_code == 200 and response.context["error"]
    assert client.get(HOME).status_code == 302
    event = _last_event(AuditAction.LOGIN_FAILED)
    assert event.actor_id == users["manager"].pk and event.changes == {"two_factor": "wrong code"}


def test_a_practice_that_switched_two_factor_off_signs_managers_in_with_a_password(users):
    assert Practice.objects.get().require_two_factor is False  # the test practice's setting
    client = Client()
    _sign_in(client, users["manager"])
    assert client.get(HOME).status_code == 200


def test_a_token_is_not_held_up_by_two_factor(two_factor_on, users):
    _, raw = services.api_token_create(user=users["manager"], name="script")
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


# --- CSRF, headers, hashing, encryption -----------------------------------------------------------


def test_the_login_form_enforces_csrf(users):
    client = Client(enforce_csrf_checks=True)
    assert _sign_in(client, users["front_desk"]).status_code == 403
    assert not _signed_in(client)
    client.get(LOGIN)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        LOGIN,
        {"username": users["front_desk"].username, "password": DEFAULT_PASSWORD,
         "csrfmiddlewaretoken": token},
    )  # fmt: skip
    assert response.status_code == 302 and _signed_in(client)


def test_api_session_auth_enforces_csrf_and_tokens_do_not_need_it(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["front_desk"])
    body = {"kind": "purchase", "amount": "10.00", "description": "Pens"}
    refused = client.post("/api/approvals", body, content_type="application/json")
    assert refused.status_code == 403
    client.get(HOME)  # the page sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    accepted = client.post(
        "/api/approvals", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201
    _, raw = services.api_token_create(user=users["front_desk"], name="script")
    by_token = Client(enforce_csrf_checks=True).post(
        "/api/approvals", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert by_token.status_code == 201


def test_anonymous_api_writes_get_401_not_a_csrf_error(db):
    response = Client(enforce_csrf_checks=True).post(
        "/api/approvals", {}, content_type="application/json"
    )
    assert response.status_code == 401


def test_pages_forbid_framing_and_carry_a_content_security_policy(client_for):
    for response in (Client().get(LOGIN), client_for("manager").get(HOME)):
        assert response["X-Frame-Options"] == "DENY"
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response["X-Content-Type-Options"] == "nosniff"


def test_new_passwords_are_hashed_with_argon2(settings, practice):
    import medoffice.settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = services.user_create(
        actor=None, username="newhire", password="long-enough-passphrase", role_codes=["biller"]
    )
    assert user.password.startswith("argon2$argon2id$")
    client = Client()
    assert _sign_in(client, user, "long-enough-passphrase").status_code == 302


def test_an_encrypted_field_holds_no_plaintext_in_the_database(practice):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tax_id FROM core_practice WHERE id = %s", [practice.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("enc1:")
    assert "3456789" not in raw and "12-" not in raw
    assert Practice.objects.get(pk=practice.pk).tax_id == "12-3456789"


# --- Emergency access -----------------------------------------------------------------------------


@pytest.mark.urls("medoffice.core.tests.urls_emergency")
def test_emergency_access_opens_expires_and_is_reviewed(client_for, users):
    record = factories.location(name="Record Seven")
    page = reverse("test_record", args=[record.pk])
    client = client_for("hr_payroll")  # the role lacks patients.view

    refused = client.get(page)
    assert refused.status_code == 403
    link = refused.context["emergency_url"]
    assert link.startswith(reverse("core:emergency_open"))
    assert client.get(link).status_code == 200

    form = {"object_type": "core.location", "object_id": record.pk, "perm": "patients.view",
            "next": page}  # fmt: skip
    short = client.post(reverse("core:emergency_open"), {**form, "reason": "urgent"})
    assert short.status_code == 200 and "at least 10" in short.context["error"]
    assert not EmergencyAccessGrant.objects.exists()

    opened = client.post(
        reverse("core:emergency_open"), {**form, "reason": "Patient in clinic, chart needed now"}
    )
    assert opened.status_code == 302 and opened["Location"] == page
    assert client.get(page).status_code == 200
    flagged = _last_event(AuditAction.EMERGENCY_ACCESS)
    assert flagged.flagged and flagged.actor_id == users["hr_payroll"].pk
    assert flagged.reason == "Patient in clinic, chart needed now"
    view = _last_event(AuditAction.VIEW)
    assert view.reason.startswith("emergency access:")

    grant = EmergencyAccessGrant.objects.get()
    EmergencyAccessGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(page).status_code == 403  # the grant expired

    auditor = client_for("auditor")
    review_page = auditor.get(reverse("core:emergency_review"))
    assert grant in review_page.context["grants"] and review_page.context["open_count"] == 1
    search = auditor.get(reverse("core:audit"), {"flagged": "1"})
    assert flagged in list(search.context["page"])
    auditor.post(reverse("core:emergency_review_one", args=[grant.pk]), {"note": "confirmed"})
    grant.refresh_from_db()
    assert grant.reviewed_by == users["auditor"] and grant.review_note == "confirmed"


def test_emergency_access_cannot_open_management_permissions(client_for, users):
    client = client_for("front_desk")
    target = users["biller"]
    response = client.post(
        reverse("core:emergency_open"),
        {"object_type": "core.user", "object_id": target.pk, "perm": "core.manage_users",
         "reason": "I would like to change roles"},
    )  # fmt: skip
    assert response.status_code == 200 and "reading only" in response.context["error"]
    assert not EmergencyAccessGrant.objects.exists()
    assert client.get(reverse("core:staff_detail", args=[target.pk])).status_code == 403


def test_only_reviewers_review_emergency_access(client_for, users):
    record = factories.location()
    grant = services.emergency_access_open(
        user=users["hr_payroll"], obj=record, perm="patients.view", reason="needed in a hurry"
    )
    response = client_for("front_desk").post(
        reverse("core:emergency_review_one", args=[grant.pk]), {"note": "fine"}
    )
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.reviewed_at is None


def test_superusers_pass_two_factor_too(two_factor_on, practice):
    admin_user = factories.user(None, is_staff=True, is_superuser=True)
    client = Client()
    _sign_in(client, admin_user)
    response = client.get("/django-admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:two_factor"))


def test_the_admin_never_shows_the_tax_id(practice):
    admin_user = factories.user(None, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/django-admin/core/practice/{practice.pk}/change/")
    assert page.status_code == 200
    assert b"3456789" not in page.content and "••-•••6789".encode() in page.content
