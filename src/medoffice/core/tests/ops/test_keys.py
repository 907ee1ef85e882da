"""Rotating the field keys keeps every value readable and changes what is stored."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection
from django.test import override_settings

from medoffice import paths
from medoffice.core import keys
from medoffice.core.models import Practice
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
