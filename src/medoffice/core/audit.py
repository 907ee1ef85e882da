"""The append-only audit trail: written without a lock, sealed into a keyed hash chain after.

Writing (`record`): one INSERT in the caller's transaction, no lock. The event carries a
keyed digest of its own content (HMAC-SHA256 with the audit key, `core/keys.py`), so an
event inserted or edited by someone without the key is found even before it is sealed.
Protected values (PHI) in `changes` are stored encrypted with the field keys (AuditSecret),
and the event holds a keyed digest of each in its place.

Sealing (`seal`): the worker every few seconds, and `audit verify` / `audit checkpoint`,
take the chain head row for a moment and give every committed unsealed event, in the order
they are found, the next gapless `seq`, the previous hash and its own `hash` (HMAC of
position, previous hash and digest). Nothing holds a lock across a business transaction.

Verifying (`verify_chain`): walks the chain and names every record changed, removed,
inserted or re-signed without the key; the head (signed too) catches a removed tail and a
changed newest record; a checkpoint line kept elsewhere pins a (seq, hash) for good.
See docs/adr/0008-audit-sealed-after-commit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from medoffice.core.context import Actor, current_actor
from medoffice.core.exceptions import MedofficeError
from medoffice.core.models import AuditAction, AuditChainHead, AuditEvent, AuditSecret

GENESIS_HASH = "0" * 64
SEAL_BATCH = 1000
PHI_MARK = "phi_digest"  # a protected value's place in `changes`: {"phi_digest": "..."}
PHI_SECTIONS = ("before", "after")
MASKED_PHI = "(protected)"
UNREADABLE_PHI = "(cannot be decrypted with the configured field keys)"
# Roles holding one of these see protected values decrypted (readable_changes).
PHI_READER_PERMISSIONS = ("patients.view", "core.view_audit")
CONTENT_FIELDS = (
    "at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
    "patient_id", "ip_address", "user_agent", "changes", "reason", "flagged", "key_id", "nonce",
)  # fmt: skip
# The unkeyed hash of events chained before the audit key existed (legacy, see the head).
HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
    "patient_id", "ip_address", "user_agent", "changes", "reason", "flagged", "prev_hash",
)  # fmt: skip
CHECKPOINT_TAG = "medoffice-audit-checkpoint"


class AuditChainError(MedofficeError):
    code = "audit_chain"


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def _mac(key: bytes, *parts: Any) -> str:
    return hmac.new(key, _encode(list(parts)), hashlib.sha256).hexdigest()


def event_digest(event: AuditEvent) -> str:
    """The unkeyed SHA-256 of a legacy event (chained before the audit key existed)."""
    payload = {name: _canonical(getattr(event, name)) for name in HASHED_FIELDS}
    return hashlib.sha256(_encode(payload)).hexdigest()


def content_digest(event: AuditEvent, key: bytes) -> str:
    """The keyed digest of what an event says (not where it sits in the chain)."""
    return _mac(key, "event", {name: _canonical(getattr(event, name)) for name in CONTENT_FIELDS})


def seal_hash(key: bytes, *, seq: int, prev_hash: str, event_id: int, digest: str) -> str:
    return _mac(key, "seal", seq, prev_hash, event_id, digest)


def head_mac(key: bytes, head: AuditChainHead) -> str:
    return _mac(key, "head", head.last_seq, head.last_hash, head.legacy_seq)


def _phi_digest(key: bytes, nonce: str, section: str, name: str, value: Any) -> str:
    return _mac(key, "phi", nonce, section, name, value)[:40]


def object_label(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def is_phi_model(model: type[models.Model]) -> bool:
    """Whether before/after values of this model are protected in the trail.

    Declared by the class attribute `audit_phi` (True or False); without it, the patients
    app's models and every model naming its patient (`audit_patient_id`) are protected.
    """
    declared = getattr(model, "audit_phi", None)
    if declared is not None:
        return bool(declared)
    return model._meta.app_label == "patients" or hasattr(model, "audit_patient_id")


def _protect(
    changes: dict, key: bytes, nonce: str
) -> tuple[dict, dict[str, dict[str, Any]] | None]:
    """Replace each before/after value by its keyed digest; return them and the plaintext."""
    protected: dict[str, dict[str, Any]] = {}
    stored = dict(changes)
    for section in PHI_SECTIONS:
        values = changes.get(section)
        if not isinstance(values, dict) or not values:
            continue
        protected[section] = dict(values)
        stored[section] = {
            name: {PHI_MARK: _phi_digest(key, nonce, section, name, value)}
            for name, value in values.items()
        }
    return stored, (protected or None)


_event_fields: list[tuple[str, models.Field]] = []
_NOT_GIVEN = object()


def _new_event(**values: Any) -> AuditEvent:
    """An unsaved AuditEvent built from its values in column order (the model's fast path,
    as when it is loaded), the fields not given at their defaults."""
    if not _event_fields:
        _event_fields.extend((f.attname, f) for f in AuditEvent._meta.concrete_fields)
    args = []
    for attname, f in _event_fields:
        value = values.get(attname, _NOT_GIVEN)
        args.append(f.get_default() if value is _NOT_GIVEN else value)
    return AuditEvent(*args)


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    patient_id: str | int | None = None,
    changes: dict | None = None,
    reason: str = "",
    flagged: bool = False,
    actor: Actor | None = None,
    phi: bool | None = None,
) -> AuditEvent:
    """Append one event to the trail, in the current transaction, without taking a lock.

    `phi` says whether before/after values in `changes` are protected (encrypted at rest);
    by default they are for models `is_phi_model()` names, and for events about a patient.
    The event is sealed into the chain after its transaction commits (`seal`).
    """
    from medoffice.core import audit_keys as keys

    actor = actor or current_actor()
    if obj is not None:
        object_type = object_type or object_label(obj)
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        if patient_id is None:
            patient_id = getattr(obj, "audit_patient_id", None)
    if phi is None:
        phi = is_phi_model(obj.__class__) if obj is not None else patient_id not in (None, "")
    key_id, key = keys.audit_signing_key()
    nonce = secrets.token_hex(16)
    plain = json.loads(json.dumps(changes or {}, default=str))
    stored, protected = _protect(plain, key, nonce) if phi else (plain, None)
    event = _new_event(
        at=timezone.now(),
        actor_id=actor.user_id,
        actor_name=actor.username[:150],
        action=action,
        object_type=object_type[:100],
        object_id=str(object_id)[:64],
        object_repr=object_repr[:200],
        patient_id="" if patient_id is None else str(patient_id),
        ip_address=actor.ip_address,
        user_agent=actor.user_agent[:300],
        changes=stored,
        reason=reason,
        flagged=flagged,
        key_id=key_id,
        nonce=nonce,
    )
    event.digest = content_digest(event, key)
    if protected is None:
        _insert(event)
    else:
        _insert(event, secret=json.dumps(protected, sort_keys=True))
    return event


# Columns the hot path passes to the driver as they are: exact field classes (not subclasses
# such as the encrypted text field) whose value is already of the type the field prepares.
_AS_IS = {models.CharField: str, models.TextField: str, models.BooleanField: bool}
_insert_sql: dict[tuple[str, str], tuple[str, list[tuple[str, models.Field, type | None]]]] = {}


def _event_insert(vendor: str) -> tuple[str, list[tuple[str, models.Field, type | None]]]:
    cache_key = (vendor, "event")
    if cache_key not in _insert_sql:
        meta = AuditEvent._meta
        quote = connection.ops.quote_name
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (names from the model)
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}"
        )
        _insert_sql[cache_key] = (sql, [(f.attname, f, _AS_IS.get(type(f))) for f in fields])
    return _insert_sql[cache_key]


def _secret_insert(vendor: str, event_sql: str) -> str:
    """The INSERT of an event's protected values; on PostgreSQL one statement with the event's
    own (a CTE), so the pair costs one round trip and is written whole or not at all."""
    cache_key = (vendor, "secret")
    if cache_key not in _insert_sql:
        quote = connection.ops.quote_name
        table = quote(AuditSecret._meta.db_table)
        columns = f"{quote('event_id')}, {quote('values')}"
        if vendor == "postgresql":
            sql = (
                f"WITH e AS ({event_sql}) INSERT INTO {table} ({columns}) "  # noqa: S608 (names from the model)
                f"SELECT {quote(AuditEvent._meta.pk.column)}, %s FROM e RETURNING {quote('event_id')}"
            )
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s)"  # noqa: S608 (names from the model)
        _insert_sql[cache_key] = (sql, [])
    return _insert_sql[cache_key][0]


def _insert(event: AuditEvent, *, secret: str | None = None) -> None:
    """One INSERT … RETURNING id, without the ORM's per-save compilation (the trail is
    written on every audited change, so this is its hot path). The model's own checks
    (an event is only ever inserted) hold: this never updates.

    `secret`: the event's protected values (JSON), stored encrypted with the field keys in
    its AuditSecret row, in the same statement (PostgreSQL) or the same transaction.
    """
    from medoffice.core.fields import encrypt_text

    if not connection.features.can_return_columns_from_insert:  # pragma: no cover
        with transaction.atomic(savepoint=False):
            event.save(force_insert=True)
            if secret is not None:
                AuditSecret.objects.create(event=event, values=secret)
        return
    vendor = connection.vendor
    sql, fields = _event_insert(vendor)
    values = event.__dict__
    params = []
    for attname, f, as_is in fields:
        value = values[attname]
        if as_is is None or not (value is None or type(value) is as_is):
            value = f.get_db_prep_save(f.pre_save(event, True), connection)
        params.append(value)
    with connection.cursor() as cursor:
        if secret is None:
            cursor.execute(sql, params)
            event.pk = cursor.fetchone()[0]
        elif vendor == "postgresql":
            cursor.execute(_secret_insert(vendor, sql), [*params, encrypt_text(secret)])
            event.pk = cursor.fetchone()[0]
        else:  # both rows or neither; no savepoint of its own inside the caller's transaction
            with transaction.atomic(savepoint=False):
                cursor.execute(sql, params)
                event.pk = cursor.fetchone()[0]
                cursor.execute(_secret_insert(vendor, sql), [event.pk, encrypt_text(secret)])
    event._state.adding = False
    event._state.db = connection.alias


def record_view(obj: models.Model, *, actor: Actor | None = None, reason: str = "") -> AuditEvent:
    return record(AuditAction.VIEW, obj=obj, actor=actor, reason=reason)


def record_export(
    what: str, *, rows: int, filters: dict | None = None, actor: Actor | None = None
) -> AuditEvent:
    return record(
        AuditAction.EXPORT, object_type=what, object_repr=f"{rows} rows",
        changes={"filters": filters or {}, "rows": rows}, actor=actor, phi=False,
    )  # fmt: skip


# --- Reading protected values ---------------------------------------------------------------


def _has_protected(changes: Any) -> bool:
    if not isinstance(changes, dict):
        return False
    return any(
        isinstance(changes.get(section), dict)
        and any(_is_mark(value) for value in changes[section].values())
        for section in PHI_SECTIONS
    )


def _is_mark(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {PHI_MARK}


def _load_secrets(event_ids: list[int]) -> dict[int, dict | None]:
    """The decrypted protected values of these events (None where unreadable), by event id.

    Read as raw tokens, so one value the keys cannot decrypt does not stop the others.
    """
    from medoffice.core.fields import decrypt_text

    if not event_ids:
        return {}
    quote = connection.ops.quote_name
    found: dict[int, dict | None] = {}
    with connection.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(event_ids))
        cursor.execute(
            f"SELECT event_id, {quote('values')} FROM {quote(AuditSecret._meta.db_table)} "  # noqa: S608 (names from the model)
            f"WHERE event_id IN ({placeholders})",
            list(event_ids),
        )
        for event_id, token in cursor.fetchall():
            try:
                values = json.loads(decrypt_text(token))
            except (TypeError, ValueError):
                values = None
            found[event_id] = values if isinstance(values, dict) else None
    return found


def _secret_values(event: AuditEvent) -> dict | None:
    return _load_secrets([event.pk]).get(event.pk)


def may_read_phi(user: Any) -> bool:
    from medoffice.core.role_permissions import has_any_perm

    return has_any_perm(user, *PHI_READER_PERMISSIONS)


def readable_changes(event: AuditEvent, user: Any) -> dict:
    """`event.changes` as `user` may see them: protected values decrypted for roles allowed
    to see PHI (the patients view permission, or the auditors'), masked for everyone else."""
    changes = event.changes if isinstance(event.changes, dict) else {}
    if not _has_protected(changes):
        return json.loads(json.dumps(changes))
    allowed = may_read_phi(user)
    return _readable(changes, allowed, _secret_values(event) if allowed else None)


def readable_changes_many(events: list[AuditEvent], user: Any) -> dict[int, dict]:
    """`readable_changes` for a page of events, by event id, with one query for the values."""
    allowed = may_read_phi(user)
    protected = [e.pk for e in events if isinstance(e.changes, dict) and _has_protected(e.changes)]
    values = _load_secrets(protected) if allowed and protected else {}
    found = {}
    for event in events:
        changes = event.changes if isinstance(event.changes, dict) else {}
        if event.pk in protected:
            found[event.pk] = _readable(changes, allowed, values.get(event.pk))
        else:
            found[event.pk] = json.loads(json.dumps(changes))
    return found


def _readable(changes: dict, allowed: bool, values: dict | None) -> dict:
    readable = dict(changes)
    for section in PHI_SECTIONS:
        stored = changes.get(section)
        if not isinstance(stored, dict):
            continue
        plain = (values or {}).get(section, {})
        readable[section] = {
            name: (
                (plain.get(name, UNREADABLE_PHI) if values is not None else UNREADABLE_PHI)
                if allowed and _is_mark(value)
                else (MASKED_PHI if _is_mark(value) else value)
            )
            for name, value in stored.items()
        }
    return readable


# --- Sealing ----------------------------------------------------------------------------


def _head_for_update() -> AuditChainHead:
    AuditChainHead.objects.bulk_create([AuditChainHead(pk=1)], ignore_conflicts=True)
    return AuditChainHead.objects.select_for_update().get(pk=1)


def _seal_batch(limit: int) -> int:
    from medoffice.core import audit_keys as keys

    key_id, key = keys.audit_signing_key()
    with transaction.atomic():
        head = _head_for_update()
        rows = list(
            AuditEvent.objects.filter(seq__isnull=True)
            .order_by("id")
            .values_list("id", "digest")[:limit]
        )
        if not rows:
            return 0
        seq, prev = head.last_seq, head.last_hash
        quote = connection.ops.quote_name
        table = quote(AuditEvent._meta.db_table)
        with connection.cursor() as cursor:
            for event_id, digest in rows:
                seq += 1
                sealed = seal_hash(key, seq=seq, prev_hash=prev, event_id=event_id, digest=digest)
                cursor.execute(
                    f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s, seal_key = %s "  # noqa: S608 (names from the model)
                    "WHERE id = %s AND seq IS NULL",
                    [seq, prev, sealed, key_id, event_id],
                )
                if cursor.rowcount != 1:
                    raise AuditChainError(
                        f"audit record {event_id} was sealed by someone else meanwhile; "
                        "nothing of this seal was kept"
                    )
                prev = sealed
        head.last_seq, head.last_hash = seq, prev
        _sign_head(head, key_id, key)
    return len(rows)


def _sign_head(head: AuditChainHead, key_id: str, key: bytes) -> None:
    head.key_id = key_id
    head.mac = head_mac(key, head)
    head.save(update_fields=["last_seq", "last_hash", "key_id", "mac"])


def seal(*, batch_size: int = SEAL_BATCH) -> int:
    """Chain every committed unsealed event; returns how many were sealed.

    Each batch is one short transaction holding the chain head row: two sealers at once
    take turns, and the unique `seq` and `hash` (and the `seq IS NULL` guard of each update)
    make a fork impossible even if the lock were bypassed.
    """
    total = 0
    while True:
        done = _seal_batch(batch_size)
        total += done
        if done < batch_size:
            return total


def unsealed_count() -> int:
    return AuditEvent.objects.filter(seq__isnull=True).count()


# --- Checkpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    key_id: str

    def line(self, key: bytes) -> str:
        mac = _mac(key, "checkpoint", self.seq, self.hash)
        return f"{CHECKPOINT_TAG} seq={self.seq} hash={self.hash} key={self.key_id} mac={mac}"


def checkpoint() -> str:
    """Seal, then a signed line naming where the chain ends, for an auditor to keep elsewhere."""
    from medoffice.core import audit_keys as keys

    seal()
    head = AuditChainHead.objects.filter(pk=1).first()
    key_id, key = keys.audit_signing_key()
    point = Checkpoint(
        seq=head.last_seq if head else 0,
        hash=head.last_hash if head else GENESIS_HASH,
        key_id=key_id,
    )
    return point.line(key)


def parse_checkpoint(line: str) -> Checkpoint:
    """Read a checkpoint line; refuses one that is malformed or not signed by our audit key."""
    from medoffice.core import audit_keys as keys

    parts = line.strip().split()
    fields = dict(part.split("=", 1) for part in parts[1:] if "=" in part)
    if not parts or parts[0] != CHECKPOINT_TAG or set(fields) != {"seq", "hash", "key", "mac"}:
        raise AuditChainError(
            f"not a checkpoint line: expected '{CHECKPOINT_TAG} seq=… hash=… key=… mac=…'"
        )
    if not fields["seq"].isdigit() or len(fields["hash"]) != 64:
        raise AuditChainError("the checkpoint line is malformed (seq or hash)")
    point = Checkpoint(seq=int(fields["seq"]), hash=fields["hash"], key_id=fields["key"])
    key = keys.audit_key(point.key_id)
    if key is None:
        raise AuditChainError(
            f"the checkpoint is signed with audit key {point.key_id}, "
            "which this installation does not hold"
        )
    expected = _mac(key, "checkpoint", point.seq, point.hash)
    if not hmac.compare_digest(expected, fields["mac"]):
        raise AuditChainError("the checkpoint line's signature is wrong: it was forged or altered")
    return point


# --- Verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"record #{self.event_id}" if self.event_id is not None else "chain"
        return f"{where}: {self.problem}"


class _Keys:
    def __init__(self) -> None:
        from medoffice.core import audit_keys as keys

        self.known = dict(keys.audit_keys())

    def get(self, key_id: str | None) -> bytes | None:
        return self.known.get(key_id or "")


def _content_problems(
    event: AuditEvent, keyring: _Keys, secrets_by_event: dict[int, dict | None]
) -> Iterator[str]:
    key = keyring.get(event.key_id)
    if key is None:
        yield (
            f"is signed with audit key {event.key_id or '(none)'}, which this installation "
            "does not hold (inserted without the key, or the key file is missing)"
        )
        return
    if not hmac.compare_digest(content_digest(event, key), event.digest or ""):
        yield "was changed after it was written, or written without the audit key (digest mismatch)"
        return
    if _has_protected(event.changes):
        values = secrets_by_event.get(event.pk)
        if values is None:
            yield "its protected values are missing or cannot be decrypted"
            return
        for section in PHI_SECTIONS:
            stored = event.changes.get(section)
            if not isinstance(stored, dict):
                continue
            plain = values.get(section, {})
            for name, value in stored.items():
                if _is_mark(value) and (
                    name not in plain
                    or _phi_digest(key, event.nonce, section, name, plain[name]) != value[PHI_MARK]
                ):
                    yield f"its protected value {section}.{name} was changed (digest mismatch)"
                    return


def verify_chain(
    batch_size: int = 2000, *, checkpoint: Checkpoint | None = None
) -> Iterator[ChainProblem]:
    """Walk the trail in order and name every record changed, removed or inserted out of band.

    Sealed records: position, link to the one before, seal (keyed) and content digest
    (keyed). The head: its signature, where it ends and its hash. Unsealed records: their
    content digest. A checkpoint: the record it names still has its hash.
    """
    keyring = _Keys()
    head = AuditChainHead.objects.filter(pk=1).first()
    legacy_seq = head.legacy_seq if head else 0
    expected_prev = GENESIS_HASH
    last_seq = 0
    checkpoint_seen = checkpoint is None or checkpoint.seq == 0
    queryset = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    while True:
        batch = list(queryset.filter(seq__gt=last_seq)[:batch_size])
        if not batch:
            break
        secrets_by_event = _load_secrets([e.pk for e in batch if _has_protected(e.changes)])
        for event in batch:
            if event.seq != last_seq + 1:
                gap = (
                    f"#{last_seq + 1}"
                    if event.seq == last_seq + 2
                    else f"#{last_seq + 1} to #{event.seq - 1}"
                )
                yield ChainProblem(event.seq, f"record {gap} before it was removed")
            elif event.prev_hash != expected_prev:
                yield ChainProblem(event.seq, "does not follow the record before it (chain broken)")
            if event.seq <= legacy_seq and not event.key_id and not event.seal_key:
                if event_digest(event) != event.hash:
                    yield ChainProblem(
                        event.seq, "was changed after it was written (hash mismatch)"
                    )
            else:
                seal_key = keyring.get(event.seal_key)
                if seal_key is None:
                    yield ChainProblem(
                        event.seq,
                        f"is sealed with audit key {event.seal_key or '(none)'}, which this "
                        "installation does not hold (sealed without the key?)",
                    )
                elif not hmac.compare_digest(
                    seal_hash(
                        seal_key,
                        seq=event.seq,
                        prev_hash=event.prev_hash or "",
                        event_id=event.pk,
                        digest=event.digest,
                    ),
                    event.hash or "",
                ):
                    yield ChainProblem(
                        event.seq,
                        "its seal is not signed by the audit key (hash mismatch: rewritten or "
                        "recomputed without the key)",
                    )
                for problem in _content_problems(event, keyring, secrets_by_event):
                    yield ChainProblem(event.seq, problem)
            if checkpoint is not None and event.seq == checkpoint.seq:
                checkpoint_seen = True
                if event.hash != checkpoint.hash:
                    yield ChainProblem(
                        event.seq,
                        "differs from the checkpoint: the trail up to it was rewritten",
                    )
            expected_prev = event.hash
            last_seq = event.seq
    yield from _head_problems(head, keyring, last_seq, expected_prev)
    if checkpoint is not None and not checkpoint_seen:
        yield ChainProblem(
            None,
            f"the checkpoint names record #{checkpoint.seq}, but the chain ends at #{last_seq} "
            "(records were removed)",
        )
    yield from _unsealed_problems(keyring, batch_size)
    yield from _duplicate_problems()


def _head_problems(
    head: AuditChainHead | None, keyring: _Keys, last_seq: int, last_hash: str
) -> Iterator[ChainProblem]:
    head_seq = head.last_seq if head is not None else 0
    if head is not None and (head.mac or head.last_seq > head.legacy_seq):
        key = keyring.get(head.key_id)
        if key is None or not hmac.compare_digest(head_mac(key, head), head.mac):
            yield ChainProblem(
                None, "the chain head is not signed by the audit key (it was edited)"
            )
    if head_seq > last_seq:
        yield ChainProblem(
            None,
            f"the newest record(s) after #{last_seq} were removed (the chain head is at #{head_seq})",
        )
    elif head_seq < last_seq:
        yield ChainProblem(
            None,
            f"record(s) after #{head_seq} were added outside the audit writer "
            f"(the chain head is at #{head_seq}, the newest record is #{last_seq})",
        )
    elif head is not None and head_seq and head.last_hash != last_hash:
        yield ChainProblem(
            head_seq, "differs from the chain head's hash (the newest record was rewritten)"
        )


def _unsealed_problems(keyring: _Keys, batch_size: int) -> Iterator[ChainProblem]:
    last_id = 0
    queryset = AuditEvent.objects.filter(seq__isnull=True).order_by("id")
    while True:
        batch = list(queryset.filter(id__gt=last_id)[:batch_size])
        if not batch:
            return
        secrets_by_event = _load_secrets([e.pk for e in batch if _has_protected(e.changes)])
        for event in batch:
            for problem in _content_problems(event, keyring, secrets_by_event):
                yield ChainProblem(None, f"unsealed record {event.pk} {problem}")
            last_id = event.pk


def _duplicate_problems() -> Iterator[ChainProblem]:
    copies = (
        AuditEvent.objects.exclude(digest="")
        .order_by()
        .values("digest")
        .annotate(n=models.Count("id"))
        .filter(n__gt=1)
        .values_list("digest", flat=True)
    )
    for digest in copies:
        seqs = list(
            AuditEvent.objects.filter(digest=digest).order_by("id").values_list("seq", flat=True)
        )
        yield ChainProblem(None, f"one record appears {len(seqs)} times (copies at {seqs})")


# --- Capture helpers (core/capture.py): units of bulk work ---------------------------------


def unit(action: str, **kwargs):
    """One event for a whole import, batch or run; see `medoffice.core.capture.unit`."""
    from medoffice.core import capture

    return capture.unit(action, **kwargs)


def unit_event(key: str) -> AuditEvent | None:
    from medoffice.core import capture

    return capture.unit_event(key)


def record_list(
    what: str, *, patient_ids, description: str, filters: dict | None = None
) -> AuditEvent:
    """One VIEW event for a list or search of PHI naming the patients it showed."""
    from medoffice.core import capture

    return capture.record_list_view(
        what, patient_ids=patient_ids, description=description, filters=filters
    )
