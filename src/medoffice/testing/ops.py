"""Throwaway installations for tests of the `medoffice` command (each its own data folder).

An `Installation` runs the real command in a subprocess with its own MEDOFFICE_DATA and,
when the tests run on PostgreSQL, its own freshly created database (dropped afterwards).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

PASS_THROUGH_DROPPED = (
    "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "MEDOFFICE_DATA", "MEDOFFICE_REDIS_URL",
    "MEDOFFICE_FIELD_KEYS", "MEDOFFICE_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE",
)  # fmt: skip
COMMAND_TIMEOUT = 240


def one_line(text: str) -> str:
    """The single line an expected failure prints (and no traceback)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _pg_params() -> dict:
    db = settings.DATABASES["default"]
    return {
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or "127.0.0.1",
        "port": int(db.get("PORT") or 5432),
    }


def _pg_admin(sql: str) -> None:
    import psycopg

    params = {k: v for k, v in _pg_params().items() if v is not None}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(sql)


@dataclass
class Installation:
    data: Path
    database_url: str | None = None
    extra_env: dict = field(default_factory=dict)

    @classmethod
    def create(cls, data: Path) -> Installation:
        data.mkdir(parents=True, exist_ok=True)
        url = None
        if on_postgres():
            name = f"mo_ops_{uuid.uuid4().hex[:12]}"
            _pg_admin(f'CREATE DATABASE "{name}"')
            p = _pg_params()
            auth = p["user"] + (f":{p['password']}" if p["password"] else "")
            url = f"postgres://{auth}@{p['host']}:{p['port']}/{name}"
        return cls(data=data, database_url=url)

    def destroy(self) -> None:
        if self.database_url:
            name = self.database_url.rsplit("/", 1)[1]
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in PASS_THROUGH_DROPPED}
        env["MEDOFFICE_DATA"] = str(self.data)
        env["MEDOFFICE_LOG_LEVEL"] = "ERROR"
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def run(self, *args: str, check: bool = True, timeout: int = COMMAND_TIMEOUT, env=None):
        """Run `medoffice ARGS…` for this installation; returns the CompletedProcess."""
        result = subprocess.run(
            [sys.executable, "-m", "medoffice.cli", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"medoffice {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def python(self, code: str) -> str:
        """Run Python inside this installation (Django set up); returns the last stdout line."""
        result = self.run("manage", "shell", "-v", "0", "-c", code)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def fingerprint(self) -> dict:
        return json.loads(
            self.python("from medoffice.testing.ops import fingerprint; fingerprint(show=True)")
        )


def fingerprint(show: bool = False) -> dict:
    """Every backed-up row (decrypted, by primary key) and every stored file, hashed per model."""
    from django.db import connection

    from medoffice.core.backup import backed_up_models

    result: dict = {"models": {}, "files": {}}
    for model in backed_up_models():
        rows = list(model._base_manager.order_by(model._meta.pk.name).values())
        m2m = [f.name for f in model._meta.many_to_many]
        if m2m and rows:
            by_pk = {row[model._meta.pk.attname]: row for row in rows}
            for obj in model._base_manager.prefetch_related(*m2m):
                for name in m2m:
                    by_pk[obj.pk][name] = sorted(o.pk for o in getattr(obj, name).all())
        digest = hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode())
        result["models"][model._meta.label_lower] = [len(rows), digest.hexdigest()]
    media = Path(settings.MEDIA_ROOT)
    if media.exists():
        for item in sorted(media.rglob("*")):
            if item.is_file():
                rel = item.relative_to(media).as_posix()
                result["files"][rel] = hashlib.sha256(item.read_bytes()).hexdigest()
    result["vendor"] = connection.vendor
    if show:
        print(json.dumps(result, sort_keys=True))
    return result
