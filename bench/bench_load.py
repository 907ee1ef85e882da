"""Pages under load: requests/s and p50/p95/p99 for signed-in users on a real `medoffice serve`.

The benchmark loads the demo practice into its own data folder (and, when PostgreSQL answers
on 127.0.0.1, into a throwaway PostgreSQL database too), starts the server on a free loopback
port, signs in 8 and then 32 users, and has each user request one page after another, each
on its own keep-alive connection, for a bounded time. Targets: the dashboard at 300 requests/s
or more with 8 users on SQLite (500 on PostgreSQL), p99 under 100 ms, no errors.

MEDOFFICE_BENCH_LOAD_SECONDS (default 6) sets how long each measurement runs;
MEDOFFICE_BENCH_LOAD_PAGES and MEDOFFICE_BENCH_LOAD_DATABASES narrow a run (comma-separated
names); MEDOFFICE_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the
PostgreSQL server used to create the throwaway database.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

SECONDS = float(os.environ.get("MEDOFFICE_BENCH_LOAD_SECONDS", "6"))
# Narrow a run: MEDOFFICE_BENCH_LOAD_PAGES=dashboard,flow_board; MEDOFFICE_BENCH_LOAD_DATABASES=sqlite
ONLY_PAGES = {p for p in os.environ.get("MEDOFFICE_BENCH_LOAD_PAGES", "").split(",") if p}
ONLY_DATABASES = {d for d in os.environ.get("MEDOFFICE_BENCH_LOAD_DATABASES", "").split(",") if d}
PG_URL = os.environ.get("MEDOFFICE_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
USER_COUNTS = (8, 32)
DEMO_PASSWORD = "medoffice-demo"  # the demo practice's published password


PAGES = {  # the day schedule and the board open on today, the demo's busiest day
    "dashboard": "/dashboard/",
    "patient_search": "/patients/?q=mar",
    "day_schedule": "/scheduling/",
    "flow_board": "/reception/",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _medoffice(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "medoffice.cli", *args], env=env, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


@contextmanager
def _server(env: dict):
    port = _free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        [sys.executable, "-m", "medoffice.cli", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError("the server stopped:\n" + log.read().decode()) from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


class Session:
    """One signed-in user on one keep-alive connection."""

    def __init__(self, port: int, username: str) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        page = self.get("/account/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode(
            {"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token}
        )
        status, _ = self.request("POST", "/account/login/", body)
        if status != 302:
            raise RuntimeError(f"signing in as {username} answered {status}")

    def _headers(self) -> dict[str, str]:
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = self._headers()
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}/account/login/"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def get(self, path: str) -> bytes:
        status, data = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        return data


def _measure(sessions: list[Session], path: str) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in sessions]
    errors = [0] * len(sessions)
    start = threading.Barrier(len(sessions) + 1)
    stop_at = [0.0]

    def user(n: int) -> None:
        session = sessions[n]
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            try:
                status, _ = session.request("GET", path)
            except (http.client.HTTPException, OSError):
                status = 0
            latencies[n].append(time.perf_counter() - began)
            if status != 200:
                errors[n] += 1

    threads = [threading.Thread(target=user, args=(n,)) for n in range(len(sessions))]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + SECONDS
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for per_user in latencies for x in per_user)
    cuts = statistics.quantiles(every, n=100) if len(every) > 1 else every * 99
    return {
        "rps": len(every) / elapsed,
        "p50": cuts[49] * 1000,
        "p95": cuts[94] * 1000,
        "p99": cuts[98] * 1000,
        "errors": float(sum(errors)),
    }


def _bench(label: str, env: dict) -> list[tuple[str, float, str]]:
    lines: list[tuple[str, float, str]] = []
    with _server(env) as port:
        pool = [Session(port, "frontdesk") for _ in range(max(USER_COUNTS))]
        for page, path in PAGES.items():
            if ONLY_PAGES and page not in ONLY_PAGES:
                continue
            pool[0].get(path)  # warm the workers' caches
            for users in USER_COUNTS:
                figures = _measure(pool[:users], path)
                prefix = f"load_{label}_{page}_{users}users"
                lines += [
                    (f"{prefix}_requests_per_s", figures["rps"], "req/s"),
                    (f"{prefix}_p50", figures["p50"], "ms"),
                    (f"{prefix}_p95", figures["p95"], "ms"),
                    (f"{prefix}_p99", figures["p99"], "ms"),
                    (f"{prefix}_errors", figures["errors"], "errors"),
                ]
                for name, value, unit in lines[-5:]:
                    print(f"{name}: {value:.6g} {unit}", file=sys.stderr, flush=True)
    return lines


def _postgres_database() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            name = f"mo_bench_load_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # PostgreSQL absent or refusing: say so and go on with SQLite
        print(f"load_postgresql: skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
        return None
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def _drop(url: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def run() -> list[tuple[str, float, str]]:
    from django.db import connections

    from medoffice.core.demo import load_demo

    load_demo(size="small")
    connections.close_all()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    lines = _bench("sqlite", env) if not ONLY_DATABASES or "sqlite" in ONLY_DATABASES else []

    url = _postgres_database() if not ONLY_DATABASES or "postgresql" in ONLY_DATABASES else None
    if url is not None:
        try:
            with tempfile.TemporaryDirectory(prefix="medoffice-bench-load-pg-") as data:
                pg_env = {**env, "DATABASE_URL": url, "MEDOFFICE_DATA": str(Path(data))}
                _medoffice(pg_env, "demo")
                lines += _bench("postgresql", pg_env)
        finally:
            _drop(url)
    return lines
