"""Encrypted model fields: the database column holds only a Fernet token, never plaintext."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

TOKEN_PREFIX = "enc1:"  # noqa: S105 (a format marker, not a secret)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def cipher() -> MultiFernet:
    """The field keys this process holds, checked against the key epoch first (at most once
    per MEDOFFICE_KEY_CHECK_SECONDS; see core/keyring.py)."""
    from medoffice.core import keyring

    keyring.refresh()
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    return TOKEN_PREFIX + cipher().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("stored value is not an encrypted token")
    data = token[len(TOKEN_PREFIX) :].encode()
    try:
        return cipher().decrypt(data).decode()
    except InvalidToken:
        pass
    from medoffice.core import keyring

    if keyring.check_seconds() > 0:  # written under a key this process has not loaded yet?
        keyring.refresh(force=True)
        try:
            return cipher().decrypt(data).decode()
        except InvalidToken:
            pass
    raise ValueError("stored value cannot be decrypted with the configured keys")


def rotate_token(token: str) -> str:
    """Re-encrypt a stored token under the newest key."""
    return TOKEN_PREFIX + cipher().rotate(token[len(TOKEN_PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A text value encrypted at rest. It cannot be searched or indexed by its plaintext."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if str(value).startswith(TOKEN_PREFIX):
            return value
        return encrypt_text(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
            return decrypt_text(value)
        return value

    def value_to_string(self, obj):
        """Serialized (dumpdata, backups) as a token, so exports never hold the plaintext."""
        value = self.value_from_object(obj)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))


def encrypted_fields():
    """Every (model, field) pair holding encrypted data, for key rotation."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field
