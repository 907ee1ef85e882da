"""Rotating the keys of encrypted fields while the practice keeps working (docs/adr/0011).

Phases of `rotate_field_keys` (each process's side is in core/keyring.py):

1. Add: a new Fernet key goes first in the key file (older keys stay, so everything stays
   readable) and the key epoch row is bumped, so every process reloads the file.
2. Wait: until every live process (FieldKeyHolder heartbeat newer than the live window)
   holds the new key first. A process that does not get there in time stops the rotation
   here, naming it; `resume=True` (`rotate-keys --resume`) continues once it has.
3. Re-encrypt: every stored token under the new key, in batches, each row compare-and-set
   (a value written meanwhile by a process is already under the new key and is kept).
   The audit trail's HMAC key rotates at phase 1 too: a new audit key goes first in
   `audit_keys` (older ones stay: they verify the events they signed; they are never dropped).
4. Drop (only with `drop_old`): refused while a live process does not hold the new key first;
   on PostgreSQL it first waits until no transaction that began before every process had the
   new key is still open (one could hold a value encrypted under an old key); then, in one
   transaction (on SQLite it holds the write lock, so no writer runs meanwhile), values still
   under an old key are re-encrypted, every value is checked to decrypt with the new key
   alone, and only then the old keys leave the key file and the epoch is bumped again.

When the keys come from MEDOFFICE_FIELD_KEYS the environment cannot be rewritten from here:
the operator puts a new key first in the variable (`generate_key()` makes one) of every
process, restarts them, runs the rotation (which waits until every live process holds that
key first, then re-encrypts under it), then removes the old keys from the variable.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, Value
from django.db.models.functions import Now
from django.utils import timezone

from medoffice import paths
from medoffice.core import audit, keyring
from medoffice.core.exceptions import MedofficeError
from medoffice.core.fields import TOKEN_PREFIX, cipher, encrypted_fields
from medoffice.core.models import AuditAction, FieldKeyEpoch, FieldKeyHolder

BATCH = 500
POLL_SECONDS = 0.2
LOCK_FILE = ".field_keys.lock"
FORGET_HOLDERS_AFTER = timedelta(days=7)


class KeyRotationError(MedofficeError):
    code = "key_rotation"
    status = 409


@dataclass
class RotationSummary:
    values: int
    keys_in_use: int
    new_key_added: bool
    old_keys_dropped: bool
    from_environment: bool
    epoch: int = 0
    waited_for: list[str] = field(default_factory=list)
    audit_key_added: str = ""  # the new audit key's id ("" when none was added)


@dataclass
class Holder:
    process: str
    epoch: int
    key_ids: list[str]
    seen_at: datetime
    live: bool


def generate_key() -> str:
    return Fernet.generate_key().decode()


def keys_from_environment() -> bool:
    return bool(os.environ.get("MEDOFFICE_FIELD_KEYS"))


def _use_keys(keys: list[str]) -> None:
    settings.FIELD_ENCRYPTION_KEYS = list(keys)


def _columns() -> Iterator[tuple[str, str, str]]:
    for model, enc_field in encrypted_fields():
        if model._meta.managed and not model._meta.proxy:
            yield model._meta.db_table, model._meta.pk.column, enc_field.column


def _tokens(table: str, pk: str, column: str) -> Iterator[list[tuple[object, str]]]:
    """Batches of (primary key, token) of one encrypted column, in key order."""
    quote = connection.ops.quote_name
    last = None
    while True:
        where = f"{quote(column)} LIKE %s" + (f" AND {quote(pk)} > %s" if last is not None else "")
        params = [TOKEN_PREFIX + "%", *([last] if last is not None else [])]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # noqa: S608 (names from the models)
                f"WHERE {where} ORDER BY {quote(pk)} LIMIT {BATCH}",
                params,
            )
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def reencrypt_all(*, only_unreadable_with: str | None = None) -> int:
    """Re-encrypt stored tokens under the first configured key; returns how many changed.

    Each batch is its own transaction and each row is compare-and-set: a row another process
    changed since it was read is left as that process wrote it. With `only_unreadable_with`,
    only tokens that key cannot decrypt are touched.
    """
    quote = connection.ops.quote_name
    fernet = cipher()
    probe = Fernet(only_unreadable_with.encode()) if only_unreadable_with else None
    changed = 0
    for table, pk, column in _columns():
        for rows in _tokens(table, pk, column):
            updates = []
            for key, token in rows:
                data = token[len(TOKEN_PREFIX) :].encode()
                if probe is not None:
                    try:
                        probe.decrypt(data)
                        continue
                    except InvalidToken:
                        pass
                try:
                    rotated = fernet.rotate(data)
                except InvalidToken as exc:
                    raise KeyRotationError(
                        f"{table}.{column} row {key} cannot be decrypted with the "
                        "configured keys; the rotation stopped there"
                    ) from exc
                updates.append((TOKEN_PREFIX + rotated.decode(), key, token))
            if updates:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608
                        f"WHERE {quote(pk)} = %s AND {quote(column)} = %s",
                        updates,
                    )
                changed += len(updates)
    return changed


def unreadable_with(key: str) -> int:
    """How many stored tokens `key` alone cannot decrypt."""
    only = Fernet(key.encode())
    count = 0
    for table, pk, column in _columns():
        for rows in _tokens(table, pk, column):
            for _key, token in rows:
                try:
                    only.decrypt(token[len(TOKEN_PREFIX) :].encode())
                except InvalidToken:
                    count += 1
    return count


# --- Epochs and the processes holding keys -----------------------------------------------


def publish_epoch(keys: list[str]) -> int:
    """Bump the key epoch (every process reloads its key file at its next check)."""
    with transaction.atomic():
        row = FieldKeyEpoch.objects.select_for_update().filter(pk=1).first()
        if row is None:
            row = FieldKeyEpoch(pk=1, epoch=0)
        row.epoch += 1
        row.key_ids = keyring.key_ids(keys)
        row.changed_at = timezone.now()
        row.save()
        # Processes killed without exiting leave a row; a week without a check is history.
        FieldKeyHolder.objects.filter(seen_at__lt=timezone.now() - FORGET_HOLDERS_AFTER).delete()
        keyring.mark_loaded(row.epoch)
    return row.epoch


def current_epoch() -> int:
    return FieldKeyEpoch.objects.filter(pk=1).values_list("epoch", flat=True).first() or 0


def holders() -> list[Holder]:
    """Every process that recorded a heartbeat, and whether it still counts as running."""
    window = ExpressionWrapper(
        Now() - Value(timedelta(seconds=keyring.live_seconds())), output_field=DateTimeField()
    )
    live = set(FieldKeyHolder.objects.filter(seen_at__gte=window).values_list("process", flat=True))
    return [
        Holder(
            process=row.process,
            epoch=row.epoch,
            key_ids=[kid for kid in row.key_ids.split(",") if kid],
            seen_at=row.seen_at,
            live=row.process in live,
        )
        for row in FieldKeyHolder.objects.order_by("process")
    ]


def lagging(new_key: str) -> list[Holder]:
    """Live processes (other than this one) that do not encrypt with `new_key` yet."""
    wanted = keyring.key_id(new_key)
    me = keyring.process_id()
    return [h for h in holders() if h.live and h.process != me and (h.key_ids or [""])[0] != wanted]


def _describe(stale: list[Holder]) -> str:
    return ", ".join(f"{h.process} (epoch {h.epoch})" for h in stale[:5]) + (
        f" and {len(stale) - 5} more" if len(stale) > 5 else ""
    )


def _wait_until(done: Callable[[], list], seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while True:
        remaining = done()
        if not remaining or time.monotonic() >= deadline:
            return remaining
        time.sleep(POLL_SECONDS)


def wait_for_holders(new_key: str, seconds: float) -> list[str]:
    """Wait until every live process encrypts with new_key; names the ones that were waited for."""
    first = [h.process for h in lagging(new_key)]
    stale = _wait_until(lambda: lagging(new_key), seconds)
    if stale:
        raise KeyRotationError(
            f"{len(stale)} running process(es) have not loaded the new key after {seconds:g} s: "
            f"{_describe(stale)}. The new key is in the key file and nothing was re-encrypted; "
            "once they have it (or are restarted), run `medoffice rotate-keys --resume`"
        )
    return first


def _old_transactions_open(since: object) -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND xact_start < %s",
            [since],
        )
        return [pid for (pid,) in cursor.fetchall()]


def wait_for_older_transactions(seconds: float) -> None:
    """PostgreSQL: wait until no transaction that began before now is still open."""
    if connection.vendor != "postgresql":
        return  # SQLite: the drop's transaction takes the write lock after any open writer
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (fence,) = cursor.fetchone()
    still = _wait_until(lambda: _old_transactions_open(fence), seconds)
    if still:
        raise KeyRotationError(
            f"{len(still)} database transaction(s) opened before every process had the new "
            f"key are still open after {seconds:g} s (server pids {', '.join(map(str, still[:5]))}); "
            "they could hold values under an old key, so the old keys were kept. "
            "Run `medoffice rotate-keys --resume --drop-old` again."
        )


@contextlib.contextmanager
def _one_rotation_at_a_time() -> Iterator[None]:
    path = paths.data_dir() / LOCK_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KeyRotationError("another key rotation is running on this machine") from None
        yield
    finally:
        os.close(fd)


def default_wait_seconds() -> float:
    """Long enough for a working process to check, and for an idle one to stop counting."""
    return keyring.live_seconds() + keyring.check_seconds() + 1


# --- The rotation ---------------------------------------------------------------------------


def rotate_field_keys(
    *, drop_old: bool = False, resume: bool = False, wait_seconds: float | None = None
) -> RotationSummary:
    wait = default_wait_seconds() if wait_seconds is None else wait_seconds
    from_env = keys_from_environment()
    if from_env and drop_old:
        raise KeyRotationError(
            "the keys come from MEDOFFICE_FIELD_KEYS: after this rotation, remove the old "
            "keys from that variable yourself (keep the first one)"
        )
    with _one_rotation_at_a_time():
        added = False
        if from_env:
            keys = list(settings.FIELD_ENCRYPTION_KEYS)
            _use_keys(keys)
        else:
            keys = paths.field_keys()  # the file, not this process's memory
            if not resume:
                keys = [generate_key(), *keys]
                paths.write_field_keys(keys)  # the new key is saved before anything uses it
                added = True
            _use_keys(keys)
        epoch = publish_epoch(keys)
        # The audit trail's signing key rotates with the field keys; the old ones stay (they
        # verify the events they signed). Other processes see the file change at their next
        # event. With MEDOFFICE_AUDIT_KEYS the operator adds the line to the variable.
        audit_key_id = ""
        if not resume and not audit_keys_from_environment():
            audit_key_id = add_audit_key()
        # If anything below fails, the key file lists the new key first and the old ones after
        # it, so every value stays readable; `--resume` finishes the job.
        waited = wait_for_holders(keys[0], wait)
        values = reencrypt_all()
        dropped = False
        if drop_old and len(keys) > 1:
            wait_for_older_transactions(wait)
            with transaction.atomic():
                values += reencrypt_all(only_unreadable_with=keys[0])
                stale = lagging(keys[0])
                if stale:
                    raise KeyRotationError(
                        f"{len(stale)} running process(es) do not hold the new key: "
                        f"{_describe(stale)}; the old keys were kept"
                    )
                left = unreadable_with(keys[0])
                if left:
                    raise KeyRotationError(
                        f"{left} value(s) still decrypt only with an old key; the old keys "
                        "were kept"
                    )
                keys = keys[:1]
                paths.write_field_keys(keys)
                _use_keys(keys)
                epoch = publish_epoch(keys)
            dropped = True
        audit.record(
            AuditAction.SECURITY,
            object_type="core.fieldkeys",
            object_repr="encrypted field keys",
            changes={
                "reencrypted": values,
                "new_key": added,
                "old_keys_dropped": dropped,
                "epoch": epoch,
                "key_ids": keyring.key_ids(keys),
                "waited_for_processes": len(waited),
                "audit_key_added": audit_key_id,
            },
        )
    return RotationSummary(
        values=values,
        keys_in_use=len(keys),
        new_key_added=added,
        old_keys_dropped=dropped,
        from_environment=from_env,
        epoch=epoch,
        waited_for=waited,
        audit_key_added=audit_key_id,
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
