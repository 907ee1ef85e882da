"""A new installation without a mail server writes mail to its outbox instead of failing."""

from __future__ import annotations

import os
import subprocess
import sys


def _backend(tmp_path, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDOFFICE_EMAIL")}
    clean.update(MEDOFFICE_DATA=str(tmp_path), DJANGO_SETTINGS_MODULE="medoffice.settings", **env)
    code = "from medoffice import settings as s; print(s.EMAIL_BACKEND); print(s.EMAIL_FILE_PATH)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_without_a_mail_host_mail_goes_to_the_data_folders_outbox(tmp_path):
    backend, path = _backend(tmp_path)
    assert backend == "django.core.mail.backends.filebased.EmailBackend"
    assert path == str(tmp_path / "outbox")


def test_a_mail_host_means_smtp(tmp_path):
    backend, _ = _backend(tmp_path, MEDOFFICE_EMAIL_HOST="mail.example.org")
    assert backend == "django.core.mail.backends.smtp.EmailBackend"
