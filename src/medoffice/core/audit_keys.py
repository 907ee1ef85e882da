"""The keys that sign the audit trail (core/audit.py). They live
outside the database, like the field keys: the file `audit_keys` in the data folder
(created on first use, mode 0600) or MEDOFFICE_AUDIT_KEYS, never in a backup. Each line is
`ID:SECRET` (SECRET: 32 random bytes, URL-safe base64), newest first: the newest signs new
events, every key listed still verifies the events it signed. Keys are only ever added:
key rotation calls `add_audit_key()`; dropping one would leave its events unverifiable.

Kept apart from `keys` (field keys and their rotation, which records audit events) so that
the trail can use its keys without importing the module that writes to it.
"""

from __future__ import annotations

import base64 as _base64
import os
import re as _re
import secrets as _secrets
import tempfile as _tempfile
import threading as _threading
import time as _time

from medoffice import paths
from medoffice.core.exceptions import MedofficeError

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
