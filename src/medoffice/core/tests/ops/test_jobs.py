"""The worker runs queued tasks (database backend and RQ) and enqueues periodic jobs once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from medoffice.core.jobs import WorkerOptions, enqueue_due, run_worker
from medoffice.core.models import EmergencyAccessGrant, PeriodicRun
from medoffice.core.tasks import expire_emergency_access

TASK = "medoffice.core.tasks.expire_emergency_access"
EVERY_HOUR = {TASK: 3600}
REDIS_URL = "redis://127.0.0.1:6379/14"


def _lapsed_grant(user):
    now = timezone.now()
    return EmergencyAccessGrant.objects.create(
        user=user, object_type="patients.patient", object_id="1", permission="patients.view",
        reason="patient collapsed in the waiting room", granted_at=now - timedelta(hours=2),
        expires_at=now - timedelta(hours=1),
    )  # fmt: skip


# The worker closes connections between jobs as a real one must: these tests commit.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_worker_runs_a_queued_task(users):
    _lapsed_grant(users["front_desk"])
    queued = expire_emergency_access.enqueue()
    assert DBTaskResult.objects.get(id=queued.id).status == "READY"

    run_worker(WorkerOptions(batch=True, schedule=False, handle_signals=False))

    done = DBTaskResult.objects.get(id=queued.id)
    assert done.status == "SUCCESSFUL"
    assert done.return_value == 1


@pytest.mark.django_db
@override_settings(MEDOFFICE_SCHEDULE=EVERY_HOUR)
def test_periodic_job_is_enqueued_once_per_interval():
    now = timezone.now()
    assert enqueue_due(now=now) == [TASK]
    assert enqueue_due(now=now) == []
    assert enqueue_due(now=now + timedelta(minutes=59)) == []
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 1
    assert PeriodicRun.objects.get(task_path=TASK).last_enqueued_at == now

    assert enqueue_due(now=now + timedelta(minutes=60)) == [TASK]
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(MEDOFFICE_SCHEDULE=EVERY_HOUR)
def test_the_batch_worker_enqueues_due_periodic_jobs_and_runs_them():
    run_worker(WorkerOptions(batch=True, handle_signals=False))
    result = DBTaskResult.objects.get(task_path=TASK)
    assert result.status == "SUCCESSFUL"
    run_worker(WorkerOptions(batch=True, handle_signals=False))
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(MEDOFFICE_SCHEDULE=EVERY_HOUR)
def test_two_workers_at_once_enqueue_a_run_only_once():
    now = timezone.now()
    start = threading.Barrier(4)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait(timeout=10)
            results.append(enqueue_due(now=now))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(results) == [[], [], [], [TASK]]
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 1


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return client


@pytest.mark.redis
def test_rq_worker_runs_an_enqueued_task(demo_install):
    client = _redis_or_skip()
    from rq.job import Job

    env = {"MEDOFFICE_REDIS_URL": REDIS_URL}
    demo_install.run("migrate", env=env)
    job_id = demo_install.run(
        "manage", "shell", "-v", "0", "-c",
        "from medoffice.core.tasks import expire_emergency_access as t; print(t.enqueue().id)",
        env=env,
    ).stdout.split()[-1]  # fmt: skip
    assert Job.fetch(job_id, connection=client).get_status() == "queued"

    demo_install.run("worker", "--batch", "--no-schedule", env=env)

    job = Job.fetch(job_id, connection=client)
    assert job.get_status() == "finished"
    assert job.return_value() == 0
