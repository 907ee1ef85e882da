"""Where an installation keeps its data, and the secrets created on first run.

Key files are created atomically: the secret is written in full to a private temporary
file beside the target, then hard-linked to the target name. `os.link` fails if the name
already exists, so when several processes start at once exactly one file wins and every
other process reads the winner's complete file (never an empty or half-written one).
Rewrites (key rotation) go through a temporary file and `os.replace`, which is atomic too.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)
FIELD_KEYS_FILE = "field_keys"
SQLITE_FILE = "medoffice.sqlite3"


def data_dir_path() -> Path:
    """Where the data folder is, without creating it."""
    return Path(os.environ.get("MEDOFFICE_DATA", "var")).resolve()


class KeyFileError(RuntimeError):
    """A key file exists but cannot be used (empty or unreadable)."""


def data_dir() -> Path:
    """The data folder: MEDOFFICE_DATA, or ./var beside where medoffice runs."""
    path = data_dir_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_private_temp(folder: Path, name: str, text: str) -> Path:
    """Write text to a new 0600 file in folder (flushed to disk) and return its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def create_exclusive(path: Path, text: str) -> bool:
    """Create path holding text, all at once; False (and nothing changed) if it exists."""
    tmp = _write_private_temp(path.parent, path.name, text)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def read_or_create(name: str, make: Callable[[], str]) -> str:
    """Read a secret file from the data folder, creating it (mode 0600) on first run.

    Safe when many processes start at once: they all end up with the same value.
    """
    path = data_dir() / name
    if not path.exists():
        create_exclusive(path, make() + "\n")
    value = path.read_text().strip()
    if not value:
        raise KeyFileError(f"the key file {path} is empty: restore it from where keys are kept")
    return value


def replace_file(path: Path, text: str) -> None:
    """Replace path's content atomically (readers see the old file or the new, never half)."""
    tmp = _write_private_temp(path.parent, path.name, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def secret_key() -> str:
    return os.environ.get("MEDOFFICE_SECRET_KEY") or read_or_create(
        SECRET_KEY_FILE, lambda: secrets.token_urlsafe(50)
    )


def parse_keys(raw: str) -> list[str]:
    return [key.strip() for key in raw.replace(",", "\n").splitlines() if key.strip()]


def field_keys() -> list[str]:
    """Fernet keys for encrypted fields, newest first; the first encrypts, all decrypt."""
    raw = os.environ.get("MEDOFFICE_FIELD_KEYS")
    if not raw:
        from cryptography.fernet import Fernet

        raw = read_or_create(FIELD_KEYS_FILE, lambda: Fernet.generate_key().decode())
    return parse_keys(raw)


def write_field_keys(keys: list[str]) -> None:
    """Replace the key file atomically (used by key rotation)."""
    replace_file(data_dir() / FIELD_KEYS_FILE, "\n".join(keys) + "\n")


_read_or_create = read_or_create  # the earlier private name
