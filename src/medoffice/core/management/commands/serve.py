from __future__ import annotations

import os
import socket
import subprocess
import sys

from gunicorn.app.base import BaseApplication

from medoffice import __version__
from medoffice.core import maintenance
from medoffice.core.exceptions import MedofficeError
from medoffice.core.management.commands._ops import OpsCommand
from medoffice.core.management.commands.demo import write_logins


def default_workers() -> int:
    """Gunicorn's rule of thumb: two processes per core, plus one."""
    return 2 * (os.cpu_count() or 1) + 1


def check_port_free(host: str, port: int) -> None:
    """Fail before printing any address when something else already listens there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            shown = f"[{host}]" if ":" in host else host
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                reason = f"port {port} is in use"
            else:
                reason = exc.strerror or str(exc)
            raise MedofficeError(f"cannot listen on {shown}:{port}: {reason}") from exc


def _start_worker() -> subprocess.Popen:
    """The background jobs (reminders, sealing the audit trail every few seconds) in a process
    of their own beside the server, so an office that only runs `serve` has them too."""
    return subprocess.Popen(
        [sys.executable, "-m", "medoffice.cli", "worker"],
        stdout=subprocess.DEVNULL, env=os.environ.copy(),
    )  # fmt: skip


class Command(OpsCommand):
    help = "Migrate the database and serve medoffice (gunicorn, several worker processes)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=None, help="worker processes (default 2 x cores + 1)"
        )
        parser.add_argument("--threads", type=int, default=4, help="threads per worker")
        parser.add_argument(
            "--demo", action="store_true", help="load the demo practice if there is no practice"
        )
        parser.add_argument(
            "--no-worker", action="store_true",
            help="do not start the background worker beside the server (run one elsewhere)",
        )  # fmt: skip

    def run(self, *, host, port, workers, threads, demo, no_worker=False, **options):
        from django.db import connections

        workers = workers or default_workers()
        if workers < 1 or threads < 1:
            raise MedofficeError("--workers and --threads must be at least 1")
        check_port_free(host, port)
        maintenance.migrate()
        if demo:
            self._demo()
        connections.close_all()  # no connection may cross the fork into the workers
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(
            f"medoffice {__version__} ({maintenance.describe_database()}) "
            f"at http://{shown}:{port}/  ({workers} workers; Ctrl+C stops it)"
        )
        self.stdout.flush()
        background = None if no_worker else _start_worker()
        master = os.getpid()
        try:
            _GunicornApp(bind=f"{shown}:{port}", workers=workers, threads=threads).run()
        except SystemExit as exc:
            if os.getpid() != master:
                raise  # a gunicorn worker process leaving: the server goes on
            if exc.code not in (0, None):
                raise MedofficeError(f"the server stopped with status {exc.code}") from exc
        finally:
            if background is not None and os.getpid() == master:
                background.terminate()
                try:
                    background.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    background.kill()
        self.stdout.write("Stopped.")

    def _demo(self) -> None:
        from medoffice.core import demo as demo_data
        from medoffice.core.models import Practice

        practice = Practice.objects.order_by("pk").first()
        if practice is None:
            result = demo_data.load_demo()
            self.stdout.write(f"Loaded the demo practice {result.practice.legal_name}.")
            write_logins(self.stdout, result)
        elif practice.is_demo:
            self.stdout.write(
                f"The demo practice {practice.legal_name} is already loaded. Sign in as any of "
                f"these, with the password {demo_data.DEMO_PASSWORD!r}:"
            )
            for line in demo_data.existing_logins():
                self.stdout.write(line)
        else:
            self.stdout.write(f"This database holds {practice.legal_name}: no demo loaded.")


class _GunicornApp(BaseApplication):
    """Gunicorn run from inside the command, with the Django application already loaded."""

    def __init__(self, *, bind: str, workers: int, threads: int) -> None:
        self.options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "keepalive": 5,
            "timeout": 120,
            "graceful_timeout": 10,
            "errorlog": "-",
            "loglevel": "warning",
            "accesslog": None,
            "proc_name": "medoffice",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
