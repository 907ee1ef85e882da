"""Where an installation keeps its data, and the secrets created on first run."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)
FIELD_KEYS_FILE = "field_keys"
SQLITE_FILE = "medoffice.sqlite3"


def data_dir_path() -> Path:
    """Where the data folder is, without creating it."""
    return Path(os.environ.get("MEDOFFICE_DATA", "var")).resolve()


def data_dir() -> Path:
    """The data folder: MEDOFFICE_DATA, or ./var beside where medoffice runs."""
    path = data_dir_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_or_create(name: str, make: callable) -> str:
    """Read a secret file from the data folder, creating it (mode 0600) on first run."""
    path = data_dir() / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make() + "\n")
    return path.read_text().strip()


def secret_key() -> str:
    return os.environ.get("MEDOFFICE_SECRET_KEY") or _read_or_create(
        SECRET_KEY_FILE, lambda: secrets.token_urlsafe(50)
    )


def field_keys() -> list[str]:
    """Fernet keys for encrypted fields, newest first; the first encrypts, all decrypt."""
    raw = os.environ.get("MEDOFFICE_FIELD_KEYS")
    if not raw:
        from cryptography.fernet import Fernet

        raw = _read_or_create(FIELD_KEYS_FILE, lambda: Fernet.generate_key().decode())
    return [key.strip() for key in raw.replace(",", "\n").splitlines() if key.strip()]


def write_field_keys(keys: list[str]) -> None:
    """Replace the key file atomically (used by key rotation)."""
    path = data_dir() / FIELD_KEYS_FILE
    tmp = path.with_suffix(".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(keys) + "\n")
    tmp.replace(path)
