"""Running background jobs: the worker loop and the periodic jobs of settings.MEDOFFICE_SCHEDULE.

The same tasks run on the database backend (no extra server) or on RQ workers over Redis
(MEDOFFICE_REDIS_URL). Any number of workers may run: each periodic job's row in
core.PeriodicRun is locked (select_for_update) while a worker decides whether it is due, so
two workers never enqueue the same run twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from medoffice.core.context import SYSTEM, Actor, acting_as, actor_for_service, via_job
from medoffice.core.exceptions import MedofficeError
from medoffice.core.models import PeriodicRun

logger = logging.getLogger(__name__)

NEVER = datetime(2000, 1, 1, tzinfo=UTC)
SCHEDULE_CHECK_SECONDS = 30.0  # at most; a job due more often is looked at as often as it is due
ACTOR_ARGUMENT = "audit_actor"  # the enqueuing user, passed in the job's own arguments

R = TypeVar("R")


def job_name(func: Callable[..., Any]) -> str:
    return f"{func.__module__.removeprefix('medoffice.')}.{func.__name__}"


def runs_as_enqueuer(func: Callable[..., R]) -> Callable[..., R]:
    """Task decorator (under `@task()`): the job acts as the user who enqueued it, via the job.

    `enqueue_as(task, actor=user, ...)` puts the user in the job's arguments; the events the
    job writes name "dana via job scheduling.tasks.send_due_reminders". A periodic job, which
    nobody enqueued, acts as "system via job …".
    """
    name = job_name(func)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        given = kwargs.pop(ACTOR_ARGUMENT, None)
        base = (
            Actor(user_id=given.get("user_id"), username=str(given.get("username", "")))
            if isinstance(given, dict)
            else SYSTEM
        )
        with acting_as(via_job(base, name)):
            return func(*args, **kwargs)

    return wrapper


def enqueue_as(task: Any, *, actor: Any, **kwargs: Any) -> Any:
    """Enqueue `task` to run as `actor` (a user or an Actor), once the transaction commits.

    Returns the task result when enqueued at once (no transaction open), else None.
    """
    who = actor_for_service(actor) if actor is not None else SYSTEM
    payload = {"user_id": who.user_id, "username": who.username.split(" via job ")[0]}
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: task.enqueue(**{ACTOR_ARGUMENT: payload}, **kwargs))
        return None
    return task.enqueue(**{ACTOR_ARGUMENT: payload}, **kwargs)


class ScheduleError(MedofficeError):
    code = "schedule"


def _backend_is_database(task) -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task.get_backend(), DatabaseBackend)


def _load_schedule() -> list[tuple[str, object, timedelta]]:
    jobs = []
    for path, seconds in sorted(getattr(settings, "MEDOFFICE_SCHEDULE", {}).items()):
        try:
            task = import_string(path)
        except ImportError as exc:
            raise ScheduleError(
                f"MEDOFFICE_SCHEDULE names {path!r}, which cannot be imported"
            ) from exc
        if not hasattr(task, "enqueue"):
            raise ScheduleError(f"MEDOFFICE_SCHEDULE names {path!r}, which is not a task")
        if int(seconds) <= 0:
            raise ScheduleError(f"MEDOFFICE_SCHEDULE gives {path!r} an interval of {seconds}")
        jobs.append((path, task, timedelta(seconds=int(seconds))))
    return jobs


def schedule_check_seconds() -> float:
    """Seconds between looks at the periodic jobs: 30, or the shortest interval if shorter."""
    intervals = [interval.total_seconds() for _, _, interval in _load_schedule()]
    return min([SCHEDULE_CHECK_SECONDS, *intervals])


def enqueue_due(*, now: datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose interval has passed; returns their paths.

    Each decision is one transaction holding the job's PeriodicRun row: on the database
    backend the job is enqueued inside it (both happen or neither); on RQ it is enqueued
    when the transaction commits (a crash in between skips one run, never doubles it).
    """
    now = now or timezone.now()
    jobs = _load_schedule()
    if not jobs:
        return []
    PeriodicRun.objects.bulk_create(
        [PeriodicRun(task_path=path, last_enqueued_at=NEVER) for path, _, _ in jobs],
        ignore_conflicts=True,
    )
    enqueued = []
    for path, task, interval in jobs:
        with transaction.atomic():
            run = PeriodicRun.objects.select_for_update().get(task_path=path)
            if now - run.last_enqueued_at < interval:
                continue
            run.last_enqueued_at = now
            run.save(update_fields=["last_enqueued_at"])
            if _backend_is_database(task):
                task.enqueue()
            else:
                transaction.on_commit(task.enqueue)
            enqueued.append(path)
    for path in enqueued:
        logger.info("enqueued periodic job %s", path)
    return enqueued


@dataclass
class WorkerOptions:
    batch: bool = False  # run what is queued (and due), then stop
    interval: float = 1.0  # seconds between looks at an empty queue
    schedule: bool = True  # also enqueue the periodic jobs
    handle_signals: bool = True  # SIGTERM/SIGINT finish the current job, then stop


def run_worker(options: WorkerOptions) -> None:
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    from medoffice.core.maintenance import require_migrated

    require_migrated()
    _load_schedule()  # a broken schedule is reported before any work starts
    backend = task_backends["default"]
    if isinstance(backend, DatabaseBackend):
        _run_database_worker(backend, options)
    else:
        _run_rq_worker(backend, options)


def _run_database_worker(backend, options: WorkerOptions) -> None:
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=sorted(backend.queues) or ["default"],
        interval=0,
        batch=True,  # each pass runs everything queued, then comes back here
        backend_name=backend.alias,
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )
    if options.handle_signals:
        worker.configure_signals()
    next_schedule = 0.0
    check_seconds = schedule_check_seconds()
    while worker.running:
        if options.schedule and time.monotonic() >= next_schedule:
            enqueue_due()
            next_schedule = time.monotonic() + check_seconds
        worker.run()
        if options.batch:
            break
        close_old_connections()
        time.sleep(options.interval)


class _Scheduler(threading.Thread):
    """Enqueues the periodic jobs beside an RQ worker, which blocks the main thread."""

    def __init__(self):
        super().__init__(name="medoffice-scheduler", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        check_seconds = schedule_check_seconds()
        while not self.stopped.is_set():
            try:
                enqueue_due()
            except Exception:  # keep scheduling; the worker goes on either way
                logger.exception("periodic jobs could not be enqueued")
            finally:
                connections.close_all()
            self.stopped.wait(check_seconds)


def _run_rq_worker(backend, options: WorkerOptions) -> None:
    import django_rq
    from django_tasks_rq.backend import Job
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Worker

    class DjangoWorker(Worker):
        def execute_job(self, job, queue):
            # The job runs in a forked process: it must not share this process's connections.
            connections.close_all()
            return super().execute_job(job, queue)

    queues = sorted(backend.queues) or ["default"]
    try:
        worker = django_rq.get_worker(*queues, job_class=Job, worker_class=DjangoWorker)
        worker.connection.ping()
    except RedisConnectionError as exc:
        raise MedofficeError(
            f"cannot reach Redis at {settings.REDIS_URL}: {exc}", code="redis_unavailable"
        ) from exc
    scheduler = None
    if options.schedule:
        if options.batch:
            enqueue_due()
        else:
            scheduler = _Scheduler()
            scheduler.start()
    connections.close_all()
    try:
        worker.work(burst=options.batch, with_scheduler=not options.batch)
    finally:
        if scheduler is not None:
            scheduler.stopped.set()
