"""Many people booking the same slot at the same moment: exactly one wins, the rest get Conflict.

Each thread has its own database connection (and, on PostgreSQL, several separate
processes too). A variant removes the Python overlap check, so only the database's unique
constraints on the occupancy cells stand between the bookings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection, connections

from medoffice.core.exceptions import Conflict
from medoffice.scheduling import services
from medoffice.scheduling.models import Appointment, Occupancy
from medoffice.testing import patients_factories as pf
from medoffice.testing.scheduling_fixtures import at, workday

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
THREADS = 8


def _book_from_threads(clinic, booked_by, start, count=THREADS):
    patients = [pf.patient() for _ in range(count)]
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(patient):
        try:
            barrier.wait(timeout=30)
            services.appointment_book(
                patient=patient, provider=clinic.provider, location=clinic.location,
                appointment_type=clinic.follow_up, start=start, booked_by=booked_by,
            )  # fmt: skip
            result = "booked"
        except Conflict as exc:
            result = f"conflict:{exc.code}"
        except Exception as exc:  # reported, so the assertion shows it
            result = f"error:{type(exc).__name__}:{exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_one_slot_many_threads_exactly_one_booking(clinic, users):
    start = at(workday(), "10:00")
    outcomes = _book_from_threads(clinic, users["front_desk"], start)
    assert sorted(outcomes).count("booked") == 1, outcomes
    assert all(o.startswith("conflict:") for o in outcomes if o != "booked"), outcomes
    assert Appointment.objects.filter(provider=clinic.provider, start=start).count() == 1
    assert Occupancy.objects.filter(provider=clinic.provider).count() == 4


def test_database_constraint_alone_stops_the_race(clinic, users, no_overlap_check):
    """With the overlap pre-check switched off, the unique cells still allow one booking."""
    start = at(workday(), "11:00")
    outcomes = _book_from_threads(clinic, users["front_desk"], start)
    assert outcomes.count("booked") == 1, outcomes
    assert set(outcomes) - {"booked"} == {"conflict:slot_taken"}, outcomes
    assert Appointment.objects.filter(provider=clinic.provider).count() == 1


WORKER = r"""
import json, os, sys
import django
django.setup()
from medoffice.core.exceptions import Conflict
from medoffice.core.models import Location, Provider, User
from medoffice.patients.models import Patient
from medoffice.scheduling import services
from medoffice.scheduling.models import AppointmentType
from datetime import datetime

args = json.loads(sys.argv[1])
patient = Patient.objects.get(pk=args["patient"])
provider = Provider.objects.get(pk=args["provider"])
location = Location.objects.get(pk=args["location"])
kind = AppointmentType.objects.get(pk=args["type"])
user = User.objects.get(pk=args["user"])
start = datetime.fromisoformat(args["start"])
print("ready", flush=True)
sys.stdin.readline()
try:
    services.appointment_book(patient=patient, provider=provider, location=location,
                              appointment_type=kind, start=start, booked_by=user)
    print("booked", flush=True)
except Conflict as exc:
    print("conflict:" + exc.code, flush=True)
"""


@pytest.mark.postgres
def _race_processes(script, bookings, *, env, cwd):
    """Start one process per booking, wait until all are ready, release them at once; each
    outcome is what its process printed ("booked", "conflict:<code>") or its error."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, json.dumps(args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        for args in bookings
    ]
    for proc in procs:
        line = proc.stdout.readline().strip()
        assert line == "ready", proc.stderr.read()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        outcomes.append(out.strip() or f"error:{err[-500:]}")
    return outcomes


def test_one_slot_several_processes_on_postgresql(clinic, users, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("separate processes against one server database: PostgreSQL only")
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="medoffice.test_settings")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[3]), *sys.path])
    start = at(workday(), "15:00")
    bookings = [
        {
            "patient": pf.patient().pk,
            "provider": clinic.provider.pk,
            "location": clinic.location.pk,
            "type": clinic.follow_up.pk,
            "user": users["front_desk"].pk,
            "start": start.isoformat(),
        }
        for _ in range(4)
    ]
    outcomes = _race_processes(WORKER, bookings, env=env, cwd=tmp_path)
    assert outcomes.count("booked") == 1, outcomes
    assert all(o.startswith("conflict:") for o in outcomes if o != "booked"), outcomes
    assert Appointment.objects.filter(provider=clinic.provider, start=start).count() == 1


# --- One patient, many providers, one time --------------------------------------------------

PATIENT_BOOKINGS = 200
# PostgreSQL serves a limited number of connections (100 by default, shared with whatever
# else runs): at most this many bookings are in flight at once there; SQLite takes them all.
PG_IN_FLIGHT = 30


def _providers_for(clinic, count):
    """`count` providers working Mon-Fri 9-17 at Main St, each offering the follow-up."""
    from medoffice.testing import factories
    from medoffice.testing import scheduling_factories as sf

    made = [clinic.provider, clinic.other_provider]
    while len(made) < count:
        provider = factories.provider(locations=[clinic.location])
        sf.template(provider=provider, location=clinic.location, weekdays=(workday().weekday(),))
        made.append(provider)
    clinic.follow_up.providers.set(made)
    return made


def _book_one_patient_from_threads(clinic, booked_by, start, providers):
    in_flight = threading.BoundedSemaphore(
        PG_IN_FLIGHT if connection.vendor == "postgresql" else len(providers)
    )
    barrier = threading.Barrier(len(providers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(provider):
        try:
            barrier.wait(timeout=60)
            with in_flight:
                try:
                    services.appointment_book(
                        patient=clinic.patient, provider=provider, location=clinic.location,
                        appointment_type=clinic.follow_up, start=start, booked_by=booked_by,
                    )  # fmt: skip
                    result = "booked"
                finally:
                    connections.close_all()
        except Conflict as exc:
            result = f"conflict:{exc.code}"
        except Exception as exc:  # reported, so the assertion shows it
            result = f"error:{type(exc).__name__}:{exc}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


def test_one_patient_many_providers_database_alone_allows_one(clinic, users, no_overlap_check):
    """200 bookings of one patient with 200 providers at one time, the Python overlap check
    switched off: the (patient, cell) constraint lets exactly one through."""
    providers = _providers_for(clinic, PATIENT_BOOKINGS)
    start = at(workday(), "10:00")
    outcomes = _book_one_patient_from_threads(clinic, users["front_desk"], start, providers)
    assert len(outcomes) == PATIENT_BOOKINGS
    assert outcomes.count("booked") == 1, [o for o in outcomes if o != "conflict:patient_taken"]
    assert set(outcomes) == {"booked", "conflict:patient_taken"}, set(outcomes)
    assert Appointment.objects.filter(patient=clinic.patient).count() == 1
    assert Occupancy.objects.filter(patient=clinic.patient).count() == 4


# The check is replaced in services.booking, where booking looks it up; the worker refuses to
# start if check_booking would not see the replacement.
WORKER_NO_CHECK = WORKER.replace(
    'print("ready", flush=True)',
    "from medoffice.scheduling.services import booking\n"
    "booking._overlapping = (lambda real: lambda qs, s, e, x=(): real(qs, s, e, x).none())("
    "booking._overlapping)\n"
    'assert services.check_booking.__globals__["_overlapping"] is booking._overlapping\n'
    'print("ready", flush=True)',
)


@pytest.mark.postgres
def test_one_patient_several_processes_on_postgresql(clinic, users, tmp_path):
    """The same from separate processes (each with the Python check off), plus threads."""
    if connection.vendor != "postgresql":
        pytest.skip("separate processes against one server database: PostgreSQL only")
    assert "none()" in WORKER_NO_CHECK
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
        f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="medoffice.test_settings")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[3]), *sys.path])
    providers = _providers_for(clinic, 6)
    start = at(workday(), "15:00")
    bookings = [
        {
            "patient": clinic.patient.pk,
            "provider": provider.pk,
            "location": clinic.location.pk,
            "type": clinic.follow_up.pk,
            "user": users["front_desk"].pk,
            "start": start.isoformat(),
        }
        for provider in providers
    ]
    outcomes = _race_processes(WORKER_NO_CHECK, bookings, env=env, cwd=tmp_path)
    assert outcomes.count("booked") == 1, outcomes
    assert set(outcomes) == {"booked", "conflict:patient_taken"}, outcomes
    assert Appointment.objects.filter(patient=clinic.patient).count() == 1
