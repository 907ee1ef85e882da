"""The audit trail: how fast events are appended, and how fast the hash chain verifies."""

from __future__ import annotations

import time

from django.db import transaction

from medoffice.core import audit
from medoffice.core.context import Actor

ACTOR = Actor(user_id=1, username="bench", ip_address="127.0.0.1", user_agent="bench")
ONE_BY_ONE = 2_000  # each in its own transaction, like events written by separate requests
IN_ONE_TRANSACTION = 20_000  # e.g. a batch import that records every row it creates


def _append(count: int, *, one_transaction: bool) -> float:
    def record(n: int) -> None:
        audit.record(
            "view", object_type="patients.patient", object_id=str(n % 5000),
            object_repr=f"Patient {n % 5000}", patient_id=n % 5000, actor=ACTOR,
        )  # fmt: skip

    started = time.perf_counter()
    if one_transaction:
        with transaction.atomic():
            for n in range(count):
                record(n)
    else:
        for n in range(count):
            record(n)
    return time.perf_counter() - started


def run() -> list[tuple[str, float, str]]:
    separate = _append(ONE_BY_ONE, one_transaction=False)
    batched = _append(IN_ONE_TRANSACTION, one_transaction=True)
    total = ONE_BY_ONE + IN_ONE_TRANSACTION
    started = time.perf_counter()
    problems = list(audit.verify_chain())
    verify = time.perf_counter() - started
    if problems:
        raise SystemExit(f"the chain did not verify: {problems[0]}")
    return [
        ("audit_append_each_own_transaction", ONE_BY_ONE / separate, "events/s"),
        ("audit_append_in_one_transaction", IN_ONE_TRANSACTION / batched, "events/s"),
        ("audit_verify_chain_per_100k", verify * 100_000 / total, "s"),
        ("audit_verify_chain_events", total, "events"),
    ]
