"""Rotating the keys of encrypted fields.

1. A new Fernet key goes first in the key file (older keys stay, so everything stays readable).
2. Every encrypted value is re-encrypted under the new key, in one transaction.
3. Only with `drop_old`, and only once every value reads under the new key alone, the old
   keys leave the key file.

When the keys come from MEDOFFICE_FIELD_KEYS the environment cannot be rewritten from here:
the operator puts a new key first in the variable (`generate_key()` makes one), runs the
rotation (which re-encrypts under the first key), then removes the old keys from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import connection, transaction

from medoffice import paths
from medoffice.core import audit
from medoffice.core.exceptions import MedofficeError
from medoffice.core.fields import TOKEN_PREFIX, cipher, encrypted_fields
from medoffice.core.models import AuditAction

BATCH = 500


class KeyRotationError(MedofficeError):
    code = "key_rotation"


@dataclass
class RotationSummary:
    values: int
    keys_in_use: int
    new_key_added: bool
    old_keys_dropped: bool
    from_environment: bool


def generate_key() -> str:
    return Fernet.generate_key().decode()


def keys_from_environment() -> bool:
    return bool(os.environ.get("MEDOFFICE_FIELD_KEYS"))


def _use_keys(keys: list[str]) -> None:
    settings.FIELD_ENCRYPTION_KEYS = list(keys)


def _columns():
    for model, field in encrypted_fields():
        if model._meta.managed and not model._meta.proxy:
            yield model._meta.db_table, model._meta.pk.column, field.column


def reencrypt_all() -> int:
    """Re-encrypt every stored token under the first configured key; returns how many."""
    quote = connection.ops.quote_name
    fernet = cipher()
    changed = 0
    with transaction.atomic():
        for table, pk, column in _columns():
            last = None
            while True:
                where = f"{quote(column)} LIKE %s" + (
                    f" AND {quote(pk)} > %s" if last is not None else ""
                )
                params = [TOKEN_PREFIX + "%", *([last] if last is not None else [])]
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # noqa: S608 (names from the models)
                        f"WHERE {where} ORDER BY {quote(pk)} LIMIT {BATCH}",
                        params,
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    updates = []
                    for key, token in rows:
                        try:
                            rotated = fernet.rotate(token[len(TOKEN_PREFIX) :].encode())
                        except InvalidToken as exc:
                            raise KeyRotationError(
                                f"{table}.{column} row {key} cannot be decrypted with the "
                                "configured keys; nothing was changed"
                            ) from exc
                        updates.append((TOKEN_PREFIX + rotated.decode(), key))
                    cursor.executemany(
                        f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",  # noqa: S608
                        updates,
                    )
                    changed += len(updates)
                    last = rows[-1][0]
    return changed


def _all_readable_with(key: str) -> bool:
    only_new = Fernet(key.encode())
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, _pk, column in _columns():
            cursor.execute(
                f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} LIKE %s",  # noqa: S608
                [TOKEN_PREFIX + "%"],
            )
            for (token,) in cursor.fetchall():
                try:
                    only_new.decrypt(token[len(TOKEN_PREFIX) :].encode())
                except InvalidToken:
                    return False
    return True


def rotate_field_keys(*, drop_old: bool = False) -> RotationSummary:
    from_env = keys_from_environment()
    current = list(settings.FIELD_ENCRYPTION_KEYS)
    if from_env:
        if drop_old:
            raise KeyRotationError(
                "the keys come from MEDOFFICE_FIELD_KEYS: after this rotation, remove the old "
                "keys from that variable yourself (keep the first one)"
            )
        keys = current
    else:
        keys = [generate_key(), *current]
        paths.write_field_keys(keys)  # the new key is saved before anything uses it
        _use_keys(keys)
    # If this fails, the key file still lists the new key first and the old ones after it,
    # so every value stays readable; running the rotation again finishes the job.
    values = reencrypt_all()
    dropped = False
    if drop_old and len(keys) > 1:
        if not _all_readable_with(keys[0]):  # pragma: no cover (re-encryption just ran)
            raise KeyRotationError("some values are not yet under the new key; old keys kept")
        keys = keys[:1]
        paths.write_field_keys(keys)
        _use_keys(keys)
        dropped = True
    audit.record(
        AuditAction.SECURITY,
        object_type="core.fieldkeys",
        object_repr="encrypted field keys",
        changes={"reencrypted": values, "new_key": not from_env, "old_keys_dropped": dropped},
    )
    return RotationSummary(
        values=values,
        keys_in_use=len(keys),
        new_key_added=not from_env,
        old_keys_dropped=dropped,
        from_environment=from_env,
    )


# The audit trail's HMAC keys live in core/audit_keys.py (the trail imports them from there);
# these names stay importable from here for rotation and its callers.
from medoffice.core.audit_keys import (  # noqa: E402, F401
    AUDIT_KEYS_ENV,
    AUDIT_KEYS_FILE,
    AUDIT_KEYS_RECHECK_SECONDS,
    AuditKeyError,
    _parse_audit_keys,
    _write_new_file,
    add_audit_key,
    audit_key,
    audit_keys,
    audit_keys_from_environment,
    audit_keys_path,
    audit_signing_key,
    generate_audit_key,
)
