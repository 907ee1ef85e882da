"""The append-only, hash-chained audit trail.

Every event is written in the caller's transaction; the chain head row is locked while
appending, so concurrent writers on PostgreSQL extend the chain one after another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import models, transaction
from django.utils import timezone

from medoffice.core.context import Actor, current_actor
from medoffice.core.models import AuditAction, AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
    "patient_id", "ip_address", "user_agent", "changes", "reason", "flagged", "prev_hash",
)  # fmt: skip


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def event_digest(event: AuditEvent) -> str:
    payload = {name: _canonical(getattr(event, name)) for name in HASHED_FIELDS}
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def object_label(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


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
) -> AuditEvent:
    """Append one event to the trail, in the current transaction."""
    actor = actor or current_actor()
    if obj is not None:
        object_type = object_type or object_label(obj)
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        if patient_id is None:
            patient_id = getattr(obj, "audit_patient_id", None)
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
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
            changes=json.loads(json.dumps(changes or {}, default=str)),
            reason=reason,
            flagged=flagged,
            prev_hash=head.last_hash,
            seq=head.last_seq + 1,
        )
        event.hash = event_digest(event)
        event.save(force_insert=True)
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


def record_view(obj: models.Model, *, actor: Actor | None = None, reason: str = "") -> AuditEvent:
    return record(AuditAction.VIEW, obj=obj, actor=actor, reason=reason)


def record_export(
    what: str, *, rows: int, filters: dict | None = None, actor: Actor | None = None
) -> AuditEvent:
    return record(
        AuditAction.EXPORT, object_type=what, object_repr=f"{rows} rows",
        changes={"filters": filters or {}, "rows": rows}, actor=actor,
    )  # fmt: skip


@dataclass(frozen=True)
class ChainProblem:
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"record #{self.event_id}" if self.event_id is not None else "chain"
        return f"{where}: {self.problem}"


def verify_chain(batch_size: int = 2000) -> Iterator[ChainProblem]:
    """Walk the trail in order and name every record changed, removed or inserted out of band."""
    expected_prev = GENESIS_HASH
    last_seq = 0
    queryset = AuditEvent.objects.order_by("seq")
    while True:
        batch = list(queryset.filter(seq__gt=last_seq)[:batch_size])
        if not batch:
            break
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
            if event_digest(event) != event.hash:
                yield ChainProblem(event.seq, "was changed after it was written (hash mismatch)")
            expected_prev = event.hash
            last_seq = event.seq
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq = head.last_seq if head is not None else 0
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
