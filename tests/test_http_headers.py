"""Headers: HSTS and a clean `check --deploy` when served over HTTPS (secure cookies); no page
or API answer is kept in a browser or proxy cache (they carry PHI and money); static files are."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


def _production_settings(tmp_path, **env: str) -> dict[str, str]:
    """Run code against the production settings module with the given environment."""
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDOFFICE_")},
        "MEDOFFICE_DATA": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "medoffice.settings",
        **env,
    }
    environ.pop("DATABASE_URL", None)
    return environ


def _check_deploy(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_settings(tmp_path, **env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_is_clean_with_secure_cookies(tmp_path):
    result = _check_deploy(tmp_path, MEDOFFICE_SECURE_COOKIES="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_https(tmp_path):
    """The check above can fail: plain HTTP is reported (no HSTS, cookies not secure)."""
    result = _check_deploy(tmp_path)
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def _secure_settings(tmp_path) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ('SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SECURE_SSL_REDIRECT', "
        "'SECURE_PROXY_SSL_HEADER', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_production_settings(tmp_path, MEDOFFICE_SECURE_COOKIES="1"),
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_answers_carry_hsts_and_plain_http_is_redirected(tmp_path, settings, users):
    secure = _secure_settings(tmp_path)
    assert secure["SECURE_HSTS_SECONDS"] >= 365 * 24 * 60 * 60
    assert secure["SESSION_COOKIE_SECURE"] and secure["CSRF_COOKIE_SECURE"]
    for name, value in secure.items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    login = reverse("core:login")
    over_https = Client().get(login, HTTP_X_FORWARDED_PROTO="https")
    assert over_https.status_code == 200
    assert over_https["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    plain = Client().get(login)
    assert plain.status_code == 301 and plain["Location"].startswith("https://")


# --- No caching of what carries PHI or money ----------------------------------------------------


@pytest.fixture
def patient(practice):
    return pf.patient(last_name="Cached")


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/",
        "/patients/?q=Cached",
        "/patients/{patient}/",
        "/scheduling/",
        "/reception/",
        "/reception/accounts/{patient}/",
        "/practice/audit/",
        "/approvals/",
        "/api/me",
        "/api/patients?q=Cached",
        "/api/patients/{patient}",
        "/api/reception/patients/{patient}/balance",
        "/api/audit",
        "/api/patients/999999",  # errors too
    ],
)
def test_every_signed_in_answer_is_no_store(client_for, patient, url):
    response = client_for("owner").get(url.format(patient=patient.pk))
    assert response.status_code in (200, 404), url
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert "no-store" in directives and "private" in directives


def test_the_sign_in_page_and_refusals_are_no_store_too(db):
    assert "no-store" in Client().get(reverse("core:login"))["Cache-Control"]
    assert "no-store" in Client().get("/api/me")["Cache-Control"]


def test_static_files_keep_their_caching(db):
    response = Client().get("/static/medoffice/medoffice.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
