"""Each process keeps its field keys in step with the key file (see docs/adr/0011).

Before it encrypts or decrypts, a process checks the key epoch row at most once per
MEDOFFICE_KEY_CHECK_SECONDS: one primary-key read. When the epoch differs from the one it
loaded, it reads the key file again. At each check it records its heartbeat (which epoch it
holds, the database's time) in FieldKeyHolder, so key rotation knows when every live process
has the new keys. A process that exits removes its row; one that stops checking for longer
than MEDOFFICE_KEY_LIVE_SECONDS counts as gone, and checks again before its next use anyway
(the live window is longer than the check interval).

Keys from MEDOFFICE_FIELD_KEYS cannot change under a running process: with them, the epoch
is still read and the heartbeat written, but nothing is reloaded.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models.functions import Now

from medoffice import paths

log = logging.getLogger(__name__)

EPOCH_TABLE = "core_fieldkeyepoch"


@dataclass
class _State:
    pid: int = 0
    process: str = ""
    epoch: int | None = None  # the epoch whose keys this process holds (None: not checked yet)
    checked: float = float("-inf")  # time.monotonic() of the last check
    tables_ready: bool = False


_state = _State()
_lock = threading.RLock()


def key_id(key: str) -> str:
    """A short fingerprint naming a key in the database and in messages (not the key)."""
    return hashlib.sha256(b"medoffice field key id:" + key.encode()).hexdigest()[:10]


def key_ids(keys: list[str] | None = None) -> str:
    return ",".join(
        key_id(key) for key in (settings.FIELD_ENCRYPTION_KEYS if keys is None else keys)
    )


def check_seconds() -> float:
    return float(getattr(settings, "MEDOFFICE_KEY_CHECK_SECONDS", 5.0))


def live_seconds() -> float:
    """How long after its last check a process still counts as running."""
    configured = getattr(settings, "MEDOFFICE_KEY_LIVE_SECONDS", None)
    if configured:
        return float(configured)
    return 2 * check_seconds() + 5


def process_id() -> str:
    """This process's name in FieldKeyHolder (a forked child gets its own)."""
    pid = os.getpid()
    if _state.pid != pid:
        _state.pid = pid
        _state.process = f"{socket.gethostname()[:100]}:{pid}:{secrets.token_hex(4)}"
        _state.epoch = None
        _state.checked = float("-inf")
    return _state.process


def held_epoch() -> int | None:
    return _state.epoch


def _tables_ready() -> bool:
    if not _state.tables_ready:
        _state.tables_ready = EPOCH_TABLE in connection.introspection.table_names()
    return _state.tables_ready


def _model(name: str):
    """Core's key tables, looked up in the app registry: the models module imports the
    encrypted fields, which come here, so an import back would be a cycle."""
    from django.apps import apps

    return apps.get_model("core", name)


def _read_epoch() -> int:
    epoch = _model("FieldKeyEpoch").objects.filter(pk=1).values_list("epoch", flat=True).first()
    return epoch or 0


def _reload_keys() -> None:
    if os.environ.get("MEDOFFICE_FIELD_KEYS"):
        return
    keys = paths.field_keys()
    if keys != list(settings.FIELD_ENCRYPTION_KEYS):
        settings.FIELD_ENCRYPTION_KEYS = keys
        log.info("field keys reloaded from the key file (%d key(s))", len(keys))


def _heartbeat(process: str, epoch: int, loaded: bool) -> None:
    FieldKeyHolder = _model("FieldKeyHolder")
    values = {"epoch": epoch, "key_ids": key_ids(), "seen_at": Now()}
    if loaded:
        values["loaded_at"] = Now()
    try:
        if not FieldKeyHolder.objects.filter(process=process).update(**values):
            FieldKeyHolder.objects.create(process=process, **{**values, "loaded_at": Now()})
    except DatabaseError:  # a heartbeat is advisory: rotation then waits longer, never less
        log.warning("could not record this process's key epoch", exc_info=True)


def refresh(*, force: bool = False) -> None:
    """Check the key epoch (if the interval passed, or forced) and reload keys if it moved."""
    interval = check_seconds()
    if interval <= 0 and not force:
        return
    if not force and time.monotonic() - _state.checked < interval and _state.pid == os.getpid():
        return
    with _lock:
        process = process_id()
        if not force and time.monotonic() - _state.checked < interval:
            return
        _state.checked = time.monotonic()
        if connection.needs_rollback:  # a broken transaction: check at the next use
            _state.checked = float("-inf")
            return
        try:
            if not _tables_ready():
                return
            epoch = _read_epoch()  # read before the file: the file is never older than this
        except DatabaseError:
            _state.checked = float("-inf")
            log.warning("could not read the key epoch", exc_info=True)
            return
        loaded = epoch != _state.epoch
        if loaded:
            _reload_keys()
            _state.epoch = epoch
        if connection.in_atomic_block:
            # Not inside the caller's transaction: recorded once it commits (if it rolls
            # back, rotation just sees this process later).
            transaction.on_commit(lambda: _heartbeat(process, epoch, loaded))
        else:
            _heartbeat(process, epoch, loaded)


def mark_loaded(epoch: int) -> None:
    """The rotating process itself loaded the keys of `epoch`; record it as held."""
    with _lock:
        process = process_id()
        _state.epoch = epoch
        _state.checked = time.monotonic()
        if _tables_ready():
            _heartbeat(process, epoch, True)


def forget() -> None:
    """Remove this process's heartbeat (at exit), so rotation need not wait for it."""
    if _state.pid != os.getpid() or _state.epoch is None:
        return
    from pathlib import Path

    FieldKeyHolder = _model("FieldKeyHolder")
    if connection.vendor == "sqlite" and not Path(str(connection.settings_dict["NAME"])).exists():
        return  # the database went away first (a throwaway one): nothing to remove

    try:
        FieldKeyHolder.objects.filter(process=_state.process).delete()
    except Exception:
        log.debug("could not remove this process's key heartbeat", exc_info=True)


atexit.register(forget)
