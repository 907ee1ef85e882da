"""The audit trail: what it adds to one audited write, how writers scale, sealing and verifying.

- `audit_service_write_*`: one audited service write (a patient's phone changed through
  the patients service, each in its own transaction) with the audit capture on and off;
  the difference is what the trail costs a write (target: under 0.5 ms). The machine may be
  shared: on and off alternate in rounds, and each figure is the median over the rounds
  (`audit_added_per_service_write`: the median of each round's difference).
- `audit_record_*`: `audit.record()` alone, per call.
- `audit_pg_*`: on PostgreSQL, 1 writer against 8 writers, each a separate process with its
  own connection, for three kinds of write, each in its own transaction: the audited service
  write above (`audit_pg_service_write_*`, target: 8 writers at least 4x one), the same with
  the audit capture off (`..._without_audit_*`: what the machine allows without the trail),
  and `audit.record()` alone (`audit_pg_record_*`). Each writer changes its own patient, so
  writers share no row but the trail's. `audit_pg_cpus` says how many CPUs the server and the
  writers share: 8 processes cannot run more than that many at once.
  Needs MEDOFFICE_BENCH_POSTGRES_URL (a server URL, e.g.
  postgres://postgres@127.0.0.1:5432/postgres): a throwaway database is created there and
  dropped afterwards. Without it the line says it was skipped.
- `audit_seal_*` and `audit_verify_*`: sealing and verifying the chain.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.db import transaction

from medoffice.core import audit, capture
from medoffice.core.context import Actor

ACTOR = Actor(user_id=1, username="bench", ip_address="127.0.0.1", user_agent="bench")
SERVICE_WRITES = 40  # per round, with the capture on and then off
SERVICE_ROUNDS = 10
ONE_BY_ONE = 2_000  # each in its own transaction, like events written by separate requests
IN_ONE_TRANSACTION = 10_000  # e.g. a batch import that records every row it creates
PG_SECONDS = 4.0
PG_WRITERS = 8
PG_ROUNDS = 3


def _capture_off() -> contextlib.AbstractContextManager[None]:
    """Write without the audit capture (AuditedModel records its saves unless told to be quiet)."""
    return capture.quietly()


def _service_writes(count: int) -> float:
    """Seconds per audited service write (a patient's phone changed, its own transaction)."""
    from medoffice.core.models import User
    from medoffice.patients import services as patient_services
    from medoffice.testing import patients_factories as pf

    user = User.objects.get(username="bench-desk")
    patient = pf.patient(first_name="Bench", last_name="Patient", phone="(217) 555-0100")
    phones = ["(217) 555-0101", "(217) 555-0102"]
    started = time.perf_counter()
    for n in range(count):
        patient_services.patient_update(actor=user, patient=patient, phone=phones[n % 2])
    return (time.perf_counter() - started) / count


def _bench_user() -> None:
    from medoffice.testing import factories

    factories.practice()
    factories.user("front_desk", username="bench-desk")


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


PG_CHILD = r"""
import json, multiprocessing, os, sys, time
import django
django.setup()
from django.core.management import call_command
from django.db import connections, transaction

call_command("migrate", interactive=False, verbosity=0)
from medoffice.core import audit, capture
from medoffice.core.context import Actor
from medoffice.core.models import User
from medoffice.patients import services as patient_services
from medoffice.patients.models import Patient
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

ACTOR = Actor(user_id=1, username="bench", ip_address="127.0.0.1", user_agent="bench")
seconds, most = float(sys.argv[1]), int(sys.argv[2])
factories.practice()
factories.user("front_desk", username="bench-desk")
# One patient per writer, so writers never wait on each other's rows: what is measured is
# what the trail (and the machine) lets them do side by side.
PATIENTS = [pf.patient(phone="(217) 555-0100").pk for _ in range(most)]
PHONES = ["(217) 555-0101", "(217) 555-0102"]


def service_write(count):
    patient_services.patient_update(actor=USER, patient=PATIENT, phone=PHONES[count % 2])


def record_event(count):
    with transaction.atomic():
        audit.record("update", object_type="bench.thing", object_id=str(count),
                     changes={"after": {"n": count}}, actor=ACTOR, phi=False)


def writer(index, kind, start_at, results):
    global USER, PATIENT
    connections.close_all()  # each process opens its own connection
    USER = User.objects.get(username="bench-desk")
    PATIENT = Patient.objects.get(pk=PATIENTS[index])
    write = record_event if kind == "record" else service_write
    count = 0
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    if kind == "service_without_audit":
        with capture.quietly():
            while time.time() < end:
                write(count)
                count += 1
    else:
        while time.time() < end:
            write(count)
            count += 1
    connections.close_all()
    results.put(count)


def run(writers, kind):
    connections.close_all()  # no connection is inherited by the forked writers
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 1.0
    procs = [
        context.Process(target=writer, args=(i, kind, start_at, results)) for i in range(writers)
    ]
    for proc in procs:
        proc.start()
    total = sum(results.get(timeout=seconds + 60) for _ in procs)
    for proc in procs:
        proc.join()
    return total / seconds


# The machine is shared: the runs of each kind alternate 1 and `most` writers, `rounds` times,
# and the median of each is kept, so a neighbour's burst does not land on one side only.
rounds = int(sys.argv[3])
kinds = ("service", "service_without_audit", "record")
runs = {(kind, n): [] for kind in kinds for n in (1, most)}
loads = []
for _ in range(rounds):
    for kind in kinds:
        for n in (1, most):
            runs[kind, n].append(run(n, kind))
            loads.append(os.getloadavg()[0])
median = lambda values: sorted(values)[len(values) // 2]
figures = {kind: {"one": median(runs[kind, 1]), "many": median(runs[kind, most])} for kind in kinds}
started = time.perf_counter()
sealed = audit.seal()
seal_seconds = time.perf_counter() - started
problems = list(audit.verify_chain())
connections.close_all()
print(json.dumps({"figures": figures, "sealed": sealed, "seal_seconds": seal_seconds,
                  "cpus": os.cpu_count(), "load": median(loads),
                  "problems": [str(p) for p in problems[:3]]}))
"""


def _postgres_scaling() -> list[tuple[str, float, str]] | None:
    server = os.environ.get("MEDOFFICE_BENCH_POSTGRES_URL", "")
    if not server:
        print(
            "audit_pg_writers: skipped (set MEDOFFICE_BENCH_POSTGRES_URL to a PostgreSQL "
            "server URL to measure 1 against 8 concurrent writers)",
            flush=True,
        )
        return None
    import psycopg

    name = f"medoffice_bench_{secrets.token_hex(4)}"
    base = server.rsplit("/", 1)[0]
    try:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"audit_pg_writers: skipped (PostgreSQL unavailable: {exc})", flush=True)
        return None
    try:
        env = dict(os.environ, DATABASE_URL=f"{base}/{name}")
        env["PYTHONPATH"] = os.pathsep.join(sys.path)
        done = subprocess.run(
            [sys.executable, "-c", PG_CHILD, str(PG_SECONDS), str(PG_WRITERS), str(PG_ROUNDS)],
            env=env, capture_output=True, text=True, check=False, cwd=Path.cwd(),
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"the PostgreSQL benchmark failed: {done.stderr[-2000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if figures["problems"]:
        raise SystemExit(f"the chain did not verify on PostgreSQL: {figures['problems']}")
    lines = [
        ("audit_pg_cpus", figures["cpus"], "cpus"),
        ("audit_pg_load_average", figures["load"], "load-1min"),
    ]
    labels = {
        "service": ("audit_pg_service_write", "audited service writes/s"),
        "service_without_audit": ("audit_pg_service_write_without_audit", "service writes/s"),
        "record": ("audit_pg_record", "events/s"),
    }
    for kind, (name, unit) in labels.items():
        one, many = figures["figures"][kind]["one"], figures["figures"][kind]["many"]
        lines += [
            (f"{name}_1_writer", one, unit),
            (f"{name}_{PG_WRITERS}_writers", many, unit),
            (f"{name}_{PG_WRITERS}_writers_speedup", many / one, "x"),
        ]
    lines.append(("audit_pg_seal", figures["sealed"] / figures["seal_seconds"], "events/s"))
    return lines


def run() -> list[tuple[str, float, str]]:
    _bench_user()
    _service_writes(20)  # warm up
    with _capture_off():
        _service_writes(20)
    rounds = []
    for _ in range(SERVICE_ROUNDS):
        with _capture_off():
            off = _service_writes(SERVICE_WRITES)
        rounds.append((off, _service_writes(SERVICE_WRITES)))
    without = statistics.median(off for off, _ in rounds)
    with_audit = statistics.median(on for _, on in rounds)
    added = statistics.median(on - off for off, on in rounds)
    separate = _append(ONE_BY_ONE, one_transaction=False)
    batched = _append(IN_ONE_TRANSACTION, one_transaction=True)
    started = time.perf_counter()
    sealed = audit.seal()
    seal = time.perf_counter() - started
    started = time.perf_counter()
    problems = list(audit.verify_chain())
    verify = time.perf_counter() - started
    if problems:
        raise SystemExit(f"the chain did not verify: {problems[0]}")
    figures = [
        ("audit_service_write_without_audit", without * 1000, "ms"),
        ("audit_service_write_with_audit", with_audit * 1000, "ms"),
        ("audit_added_per_service_write", added * 1000, "ms"),
        ("audit_record_each_own_transaction", separate / ONE_BY_ONE * 1000, "ms"),
        ("audit_record_in_one_transaction", batched / IN_ONE_TRANSACTION * 1000, "ms"),
        ("audit_seal", sealed / seal, "events/s"),
        ("audit_verify_chain_per_100k", verify * 100_000 / sealed, "s"),
        ("audit_verify_chain_events", sealed, "events"),
    ]
    for name, value, unit in figures:  # printed as they come: the PostgreSQL part is slow
        print(f"{name}: {value:.6g} {unit}", flush=True)
    return _postgres_scaling() or []
