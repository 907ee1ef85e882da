"""TOTP seeds are encrypted at rest with the field keys: in the column, after rotation, on sign-in."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp

from medoffice import paths
from medoffice.core import keys
from medoffice.core.models import Practice, TOTPAuthenticator
from medoffice.testing.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
HOME = reverse("dashboard:home")
TWO_FACTOR = reverse("core:two_factor")


def _stored_key(device: TOTPAuthenticator) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM core_totpauthenticator WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def _code(device: TOTPAuthenticator, steps_ahead: int = 0) -> str:
    """The code the phone shows now (or `steps_ahead` time steps later)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                 drift=device.drift + steps_ahead)  # fmt: skip
    return f"{value:0{device.digits}d}"


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDOFFICE_DATA", str(tmp_path))
    monkeypatch.delenv("MEDOFFICE_FIELD_KEYS", raising=False)
    paths.write_field_keys([OLD_KEY])
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        yield tmp_path / paths.FIELD_KEYS_FILE


@pytest.fixture
def manager(practice, users):
    Practice.objects.filter(pk=practice.pk).update(require_two_factor=True)
    return users["manager"]


def _sign_in(user) -> Client:
    client = Client()
    response = client.post(
        reverse("core:login"), {"username": user.username, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    return client


def _enrol(user) -> TOTPAuthenticator:
    client = _sign_in(user)
    page = client.get(TWO_FACTOR)
    assert page.context["setup"] is True
    device = TOTPAuthenticator.objects.get(user=user)
    assert page.context["secret"] == base64.b32encode(device.bin_key).decode()
    response = client.post(TWO_FACTOR, {"token": _code(device), "next": HOME})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_the_column_holds_a_token_and_never_the_seed(key_file, manager):
    device = _enrol(manager)
    stored = _stored_key(device)
    assert stored.startswith("enc1:")
    assert device.key not in stored and device.key.upper() not in stored
    assert base64.b32encode(device.bin_key).decode() not in stored
    assert Fernet(OLD_KEY.encode()).decrypt(stored.removeprefix("enc1:").encode()).decode() == (
        device.key
    )
    assert len(device.bin_key) == 20


def test_the_qr_address_carries_the_seed_and_issuer(key_file, manager):
    device = TOTPAuthenticator.objects.create(user=manager, name="authenticator")
    url = device.config_url
    assert url.startswith(f"otpauth://totp/medoffice%3A{manager.username}?")
    assert f"secret={base64.b32encode(device.bin_key).decode()}" in url
    assert "issuer=medoffice" in url and "digits=6" in url and "period=30" in url


def test_sign_in_with_a_code_still_works_after_rotating_and_dropping_the_old_key(key_file, manager):
    device = _enrol(manager)
    before = _stored_key(device)

    keys.rotate_field_keys(drop_old=True)

    remaining = key_file.read_text().split()
    assert len(remaining) == 1 and OLD_KEY not in remaining
    after = _stored_key(device)
    assert after != before
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY.encode()).decrypt(after.removeprefix("enc1:").encode())
    Fernet(remaining[0].encode()).decrypt(after.removeprefix("enc1:").encode())

    client = _sign_in(manager)
    assert client.get(HOME).status_code == 302  # the code is asked for again
    # The enrolment used this time step's code; the phone's next one is accepted once.
    next_code = _code(device, steps_ahead=1)
    response = client.post(TWO_FACTOR, {"token": next_code, "next": HOME})
    assert response.status_code == 302 and response["Location"] == HOME
    assert client.get(HOME).status_code == 200
    replay = _sign_in(manager)
    assert replay.post(TWO_FACTOR, {"token": next_code}).status_code == 200  # not twice
    assert replay.get(HOME).status_code == 302


def test_a_wrong_code_is_refused_and_counted(key_file, manager):
    device = _enrol(manager)
    client = _sign_in(manager)
    wrong = f"{(int(_code(device, steps_ahead=1)) + 1) % 1_000_000:06d}"
    assert client.post(TWO_FACTOR, {"token": wrong}).status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    assert client.get(HOME).status_code == 302


def test_devices_of_django_otps_clear_table_move_into_the_encrypted_one(key_file, users):
    """The data migration, against a legacy table like django-otp's (seed in clear)."""
    from importlib import import_module
    from pathlib import Path

    from medoffice.core import migrations

    (found,) = Path(migrations.__file__).parent.glob("*_keys_totp_seeds_from_django_otp.py")
    migration = import_module(f"medoffice.core.migrations.{found.stem}")
    user = users["owner"]
    seed = "3132333435363738393031323334353637383930"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE otp_totp_totpdevice (id integer PRIMARY KEY, user_id bigint, "
            "name varchar(64), confirmed boolean, key varchar(80), step smallint, t0 bigint, "
            "digits smallint, tolerance smallint, drift smallint, last_t bigint, "
            "throttling_failure_timestamp timestamp with time zone NULL, "
            "throttling_failure_count integer, created_at timestamp with time zone NULL, "
            "last_used_at timestamp with time zone NULL)"
        )
        cursor.execute(
            "INSERT INTO otp_totp_totpdevice VALUES (%s, %s, 'phone', %s, %s, 30, 0, 6, 1, 0, "
            "123, NULL, 0, NULL, NULL)",
            [41, user.pk, True, seed],
        )
    migration.copy_legacy_devices(apps, SimpleNamespace(connection=connection))

    device = TOTPAuthenticator.objects.get(pk=41)
    assert (device.user_id, device.name, device.confirmed, device.last_t) == (
        user.pk, "phone", True, 123
    )  # fmt: skip
    assert device.key == seed
    stored = _stored_key(device)
    assert stored.startswith("enc1:") and seed not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM otp_totp_totpdevice")
        assert cursor.fetchone()[0] == 0  # the clear copy is gone
    newer = TOTPAuthenticator.objects.create(user=user, name="next")
    assert newer.pk > 41  # the id sequence moved past the copied rows
