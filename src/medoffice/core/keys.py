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


# --- The audit trail's HMAC keys ---------------------------------------------------------
# A self-contained block: the keys that sign the audit trail (core/audit.py). They live
# outside the database, like the field keys: the file `audit_keys` in the data folder
# (created on first use, mode 0600) or MEDOFFICE_AUDIT_KEYS, never in a backup. Each line is
# `ID:SECRET` (SECRET: 32 random bytes, URL-safe base64), newest first: the newest signs new
# events, every key listed still verifies the events it signed. Keys are only ever added:
# key rotation calls `add_audit_key()`; dropping one would leave its events unverifiable.

import base64 as _base64  # noqa: E402 (kept with the block it serves)
import re as _re  # noqa: E402
import secrets as _secrets  # noqa: E402
import tempfile as _tempfile  # noqa: E402
import threading as _threading  # noqa: E402
import time as _time  # noqa: E402

AUDIT_KEYS_FILE = "audit_keys"
AUDIT_KEYS_ENV = "MEDOFFICE_AUDIT_KEYS"
_AUDIT_KEY_LINE = _re.compile(r"^([A-Za-z0-9_-]{1,16}):([A-Za-z0-9_=-]{43,})$")
AUDIT_KEYS_RECHECK_SECONDS = 2.0  # how long a process trusts its copy of the key file
_audit_cache: dict[str, object] = {}
_audit_lock = _threading.Lock()


class AuditKeyError(MedofficeError):
    code = "audit_keys"


def generate_audit_key() -> str:
    """A new `ID:SECRET` line (for MEDOFFICE_AUDIT_KEYS, or written by `add_audit_key`)."""
    key_id = _secrets.token_hex(4)
    secret = _base64.urlsafe_b64encode(_secrets.token_bytes(32)).decode()
    return f"{key_id}:{secret}"


def audit_keys_path():
    folder = os.environ.get("MEDOFFICE_DATA", "")
    cached = _audit_cache.get("path")
    if cached is None or cached[0] != folder:
        cached = (folder, paths.data_dir() / AUDIT_KEYS_FILE)
        _audit_cache["path"] = cached
    return cached[1]


def audit_keys_from_environment() -> bool:
    return bool(os.environ.get(AUDIT_KEYS_ENV, "").strip())


def _parse_audit_keys(text: str, source: str) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for raw in text.replace(",", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _AUDIT_KEY_LINE.match(line)
        if match is None:
            raise AuditKeyError(f"{source} holds a line that is not ID:SECRET")
        secret = _base64.urlsafe_b64decode(match.group(2).encode())
        if len(secret) < 32:
            raise AuditKeyError(f"{source}: key {match.group(1)} is shorter than 32 bytes")
        keys.append((match.group(1), secret))
    if not keys:
        raise AuditKeyError(f"{source} holds no audit key")
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise AuditKeyError(f"{source} names one key id twice")
    return keys


def _write_new_file(path, text: str, *, replace: bool) -> bool:
    """Write `text` to `path` atomically (mode 0600). Without `replace`, only if `path` does
    not exist yet: the full file is linked into place, so two processes starting at once
    end with one file, and no reader ever sees it half written. Returns whether it wrote."""
    fd, tmp = _tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        if replace:
            os.replace(tmp, path)
            _audit_cache.pop("file", None)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load_audit_keys() -> list[tuple[str, bytes]]:
    raw = os.environ.get(AUDIT_KEYS_ENV, "")
    if raw.strip():
        cached = _audit_cache.get("env")
        if cached is not None and cached[0] == raw:
            return cached[1]
        keys = _parse_audit_keys(raw, AUDIT_KEYS_ENV)
        _audit_cache["env"] = (raw, keys)
        return keys
    path = audit_keys_path()
    cached = _audit_cache.get("file")
    now = _time.monotonic()
    if (
        cached is not None
        and cached[0][0] == str(path)
        and now - cached[2] < AUDIT_KEYS_RECHECK_SECONDS
    ):
        return cached[1]
    try:
        stat = path.stat()
    except FileNotFoundError:
        _write_new_file(path, generate_audit_key() + "\n", replace=False)
        stat = path.stat()
    stamp = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    if cached is not None and cached[0] == stamp:
        _audit_cache["file"] = (stamp, cached[1], now)
        return cached[1]
    keys = _parse_audit_keys(path.read_text(), str(path))
    _audit_cache["file"] = (stamp, keys, now)
    return keys


def audit_keys() -> list[tuple[str, bytes]]:
    """Every audit key as (id, secret), newest first; the file is created on first use."""
    with _audit_lock:
        return list(_load_audit_keys())


def audit_signing_key() -> tuple[str, bytes]:
    """The key that signs new events and seals: the newest."""
    return audit_keys()[0]


def audit_key(key_id: str) -> bytes | None:
    """The secret of one key id, or None when this installation does not hold it."""
    found = dict(audit_keys()).get(key_id)
    if found is None:  # perhaps added by another process a moment ago
        _audit_cache.pop("file", None)
        found = dict(audit_keys()).get(key_id)
    return found


def add_audit_key() -> str:
    """Put a new audit key first in the key file (older keys stay and keep verifying).

    For `rotate-keys`. Returns the new key's id. When the keys come from MEDOFFICE_AUDIT_KEYS
    the operator adds the line (`generate_audit_key()`) to the variable instead.
    """
    if audit_keys_from_environment():
        raise AuditKeyError(
            f"the audit keys come from {AUDIT_KEYS_ENV}: put a new line first in that variable "
            "(`medoffice audit new-key` prints one) and keep the old ones"
        )
    with _audit_lock:
        current = _load_audit_keys()
        line = generate_audit_key()
        key_id = line.split(":", 1)[0]
        encoded = [f"{k}:{_base64.urlsafe_b64encode(s).decode()}" for k, s in current]
        _write_new_file(audit_keys_path(), "\n".join([line, *encoded]) + "\n", replace=True)
        _audit_cache.pop("file", None)
    return key_id
