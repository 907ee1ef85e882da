from __future__ import annotations

from medoffice.core.jobs import WorkerOptions, run_worker
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = "Run background jobs (database queue, or RQ when MEDOFFICE_REDIS_URL is set) and enqueue periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", action="store_true", help="run what is queued and due, then exit"
        )
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument(
            "--no-schedule", action="store_true", help="do not enqueue the periodic jobs"
        )

    def run(self, *, batch, interval, no_schedule, **options):
        run_worker(WorkerOptions(batch=batch, interval=interval, schedule=not no_schedule))
