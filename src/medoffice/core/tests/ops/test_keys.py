"""Rotating the field keys keeps every value readable and changes what is stored."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from medoffice import paths
from medoffice.core import keyring, keys
from medoffice.core.fields import decrypt_text, encrypt_text
from medoffice.core.models import FieldKeyEpoch, FieldKeyHolder, Practice
from medoffice.testing import factories

OLD_KEY = Fernet.generate_key().decode()
TAX_ID = "47-1234567"


def _stored_tax_id(practice) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tax_id FROM core_practice WHERE id = %s", [practice.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDOFFICE_DATA", str(tmp_path))
    monkeypatch.delenv("MEDOFFICE_FIELD_KEYS", raising=False)
    paths.write_field_keys([OLD_KEY])
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        yield tmp_path / paths.FIELD_KEYS_FILE


@pytest.mark.django_db
def test_rotation_reencrypts_under_a_new_key_and_keeps_values_readable(key_file):
    practice = factories.practice(tax_id=TAX_ID)
    before = _stored_tax_id(practice)
    Fernet(OLD_KEY.encode()).decrypt(before.removeprefix("enc1:").encode())

    summary = keys.rotate_field_keys()

    written = key_file.read_text().split()
    assert len(written) == 2 and written[1] == OLD_KEY
    after = _stored_tax_id(practice)
    assert after != before
    Fernet(written[0].encode()).decrypt(after.removeprefix("enc1:").encode())
    assert Practice.objects.get(pk=practice.pk).tax_id == TAX_ID
    assert summary.values >= 1 and summary.new_key_added

    keys.rotate_field_keys(drop_old=True)

    remaining = key_file.read_text().split()
    assert len(remaining) == 1 and OLD_KEY not in remaining
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY.encode()).decrypt(_stored_tax_id(practice).removeprefix("enc1:").encode())
    assert Practice.objects.get(pk=practice.pk).tax_id == TAX_ID


@pytest.mark.django_db
def test_keys_from_the_environment_are_not_dropped_here(key_file, monkeypatch):
    new_key = keys.generate_key()
    monkeypatch.setenv("MEDOFFICE_FIELD_KEYS", f"{new_key},{OLD_KEY}")
    practice = factories.practice(tax_id=TAX_ID)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, OLD_KEY]):
        with pytest.raises(keys.KeyRotationError, match="remove the old keys"):
            keys.rotate_field_keys(drop_old=True)
        summary = keys.rotate_field_keys()
        assert summary.from_environment and not summary.new_key_added
        Fernet(new_key.encode()).decrypt(_stored_tax_id(practice).removeprefix("enc1:").encode())
        assert Practice.objects.get(pk=practice.pk).tax_id == TAX_ID
    assert key_file.read_text().split() == [OLD_KEY]  # the key file was left alone


# --- Rotation with other processes running (docs/adr/0011) -----------------------------------


def _holder(process: str, key: str, *, seconds_ago: float = 0) -> FieldKeyHolder:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    return FieldKeyHolder.objects.create(
        process=process, epoch=0, key_ids=keyring.key_id(key), loaded_at=seen, seen_at=seen
    )


def _readable_with_old_key(practice) -> bool:
    try:
        Fernet(OLD_KEY.encode()).decrypt(_stored_tax_id(practice).removeprefix("enc1:").encode())
    except InvalidToken:
        return False
    return True


@pytest.mark.django_db
def test_a_live_process_on_the_old_key_stops_the_rotation_before_re_encrypting(key_file):
    practice = factories.practice(tax_id=TAX_ID)
    _holder("desk-pc:4242:ab12cd34", OLD_KEY)
    with pytest.raises(keys.KeyRotationError, match="desk-pc:4242:ab12cd34") as refused:
        keys.rotate_field_keys(drop_old=True, wait_seconds=0.5)
    assert "--resume" in str(refused.value)
    added, old = key_file.read_text().split()
    assert old == OLD_KEY  # the new key is first, the old one kept
    assert _readable_with_old_key(practice)  # nothing was re-encrypted yet
    assert FieldKeyEpoch.objects.get().epoch == 1

    # The process picked the new key up: the rotation resumes without adding another key.
    FieldKeyHolder.objects.update(key_ids=f"{keyring.key_id(added)},{keyring.key_id(OLD_KEY)}")
    summary = keys.rotate_field_keys(drop_old=True, resume=True, wait_seconds=0.5)
    assert summary.old_keys_dropped and not summary.new_key_added
    assert key_file.read_text().split() == [added]
    assert not _readable_with_old_key(practice)
    assert Practice.objects.get(pk=practice.pk).tax_id == TAX_ID
    assert FieldKeyEpoch.objects.get().epoch == 3  # added, then dropped


@pytest.mark.django_db
def test_a_process_that_stopped_checking_is_not_waited_for(key_file):
    practice = factories.practice(tax_id=TAX_ID)
    _holder("gone:1:00000000", OLD_KEY, seconds_ago=keyring.live_seconds() + 5)
    _holder("killed:2:00000000", OLD_KEY, seconds_ago=8 * 24 * 3600)
    summary = keys.rotate_field_keys(drop_old=True, wait_seconds=0)
    assert summary.old_keys_dropped and len(key_file.read_text().split()) == 1
    remaining = set(FieldKeyHolder.objects.values_list("process", flat=True))
    assert "gone:1:00000000" in remaining and "killed:2:00000000" not in remaining
    assert Practice.objects.get(pk=practice.pk).tax_id == TAX_ID


@pytest.mark.django_db
def test_drop_old_refuses_while_a_value_decrypts_only_with_an_old_key(key_file, monkeypatch):
    practice = factories.practice(tax_id=TAX_ID)
    monkeypatch.setattr(keys, "reencrypt_all", lambda **kwargs: 0)  # a value left behind
    with pytest.raises(keys.KeyRotationError, match="1 value\\(s\\) still decrypt only"):
        keys.rotate_field_keys(drop_old=True, wait_seconds=0)
    assert key_file.read_text().split()[1] == OLD_KEY  # kept
    assert _readable_with_old_key(practice)


@pytest.mark.django_db
def test_a_process_reloads_the_key_file_when_the_epoch_moves(
    key_file, django_capture_on_commit_callbacks
):
    new_key = keys.generate_key()
    with override_settings(MEDOFFICE_KEY_CHECK_SECONDS=0.05):
        keyring.refresh(force=True)  # this process's first check: epoch 0, the old key
        assert keyring.held_epoch() == 0
        paths.write_field_keys([new_key, OLD_KEY])  # another process rotates...
        FieldKeyEpoch.objects.create(pk=1, epoch=1, changed_at=timezone.now())
        token = encrypt_text("soon")
        Fernet(OLD_KEY.encode()).decrypt(token.removeprefix("enc1:").encode())  # within N s
        time.sleep(0.1)
        with django_capture_on_commit_callbacks(execute=True):
            token = encrypt_text("later")
        Fernet(new_key.encode()).decrypt(token.removeprefix("enc1:").encode())
        assert keyring.held_epoch() == 1
        me = FieldKeyHolder.objects.get(process=keyring.process_id())
        assert me.epoch == 1 and me.key_ids.split(",")[0] == keyring.key_id(new_key)
        assert [h.process for h in keys.lagging(new_key)] == []


@pytest.mark.django_db
def test_a_value_under_a_key_not_yet_loaded_is_read_after_a_forced_reload(key_file):
    new_key = keys.generate_key()
    token = "enc1:" + Fernet(new_key.encode()).encrypt(b"written elsewhere").decode()
    with override_settings(MEDOFFICE_KEY_CHECK_SECONDS=60):
        keyring.refresh(force=True)
        paths.write_field_keys([new_key, OLD_KEY])
        FieldKeyEpoch.objects.update_or_create(pk=1, defaults={"epoch": 7, "changed_at": timezone.now()})  # fmt: skip
        assert decrypt_text(token) == "written elsewhere"


@pytest.mark.django_db
def test_status_lists_each_process_and_whether_it_counts_as_running(key_file):
    _holder("desk-pc:4242:ab12cd34", OLD_KEY)
    _holder("old-pc:7:00000000", OLD_KEY, seconds_ago=keyring.live_seconds() + 5)
    out = StringIO()
    call_command("rotate_keys", status=True, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Key epoch 0;")
    assert any(line.startswith("desk-pc:4242:ab12cd34: epoch 0") and "running" in line for line in lines)  # fmt: skip
    assert any(line.startswith("old-pc:7:00000000") and "gone" in line for line in lines)


# --- The audit trail's key rotates with the field keys ----------------------------------------


@pytest.mark.django_db
def test_rotation_adds_a_new_audit_key_first_and_keeps_the_old_ones(key_file, monkeypatch):
    monkeypatch.delenv("MEDOFFICE_AUDIT_KEYS", raising=False)
    before = [key_id for key_id, _secret in keys.audit_keys()]
    summary = keys.rotate_field_keys(drop_old=True, wait_seconds=0)
    after = [key_id for key_id, _secret in keys.audit_keys()]
    assert after == [summary.audit_key_added, *before] and summary.audit_key_added
    assert (key_file.parent / "audit_keys").read_text().count("\n") == len(before) + 1
    keys.rotate_field_keys(resume=True, wait_seconds=0)  # finishing a rotation adds none
    assert [key_id for key_id, _secret in keys.audit_keys()] == after


@pytest.mark.django_db
def test_audit_keys_from_the_environment_are_left_to_the_operator(key_file, monkeypatch):
    line = keys.generate_audit_key()
    monkeypatch.setenv("MEDOFFICE_AUDIT_KEYS", line)
    out = StringIO()
    call_command("rotate_keys", wait=0, stdout=out)
    assert "MEDOFFICE_AUDIT_KEYS" in out.getvalue()
    assert [key_id for key_id, _secret in keys.audit_keys()] == [line.split(":")[0]]
    assert not (key_file.parent / "audit_keys").exists()
