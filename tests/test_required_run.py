"""MEDOFFICE_REQUIRE (set by .ci/run under CI): a run that must not skip PostgreSQL or Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = """
import pytest

@pytest.mark.redis
def test_needs_redis():
    pytest.skip("Redis is not running")

@pytest.mark.postgres
def test_on_postgres():
    pass

def test_plain():
    pass
"""


def _run(tmp_path: Path, require: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {**os.environ, "MEDOFFICE_REQUIRE": require}
    env.pop("DATABASE_URL", None)  # the sample runs on SQLite
    env["DJANGO_SETTINGS_MODULE"] = "medoffice.test_settings"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "medoffice.testing.required",
         "-p", "no:cacheprovider", "-W", "ignore", *args, "test_sample.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _no_inherited_requirement(monkeypatch):
    monkeypatch.delenv("MEDOFFICE_REQUIRE", raising=False)


def test_without_the_variable_a_test_may_skip(tmp_path):
    result = _run(tmp_path, "")
    assert result.returncode == 0, result.stdout
    assert "2 passed, 1 skipped" in result.stdout


def test_a_required_marker_that_skips_fails_the_run(tmp_path):
    result = _run(tmp_path, "redis")
    assert result.returncode == 1, result.stdout
    assert "skipped, but this run requires redis" in result.stdout
    assert "1 failed, 2 passed" in result.stdout


def test_a_run_where_no_required_test_passed_fails(tmp_path):
    result = _run(tmp_path, "redis", "-k", "plain")
    assert result.returncode == 1, result.stdout
    assert "no test marked redis passed" in result.stdout


def test_requiring_postgres_refuses_another_database(tmp_path):
    result = _run(tmp_path, "postgres")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "but the database is django.db.backends.sqlite3" in result.stdout + result.stderr


def test_an_unknown_requirement_is_a_usage_error(tmp_path):
    result = _run(tmp_path, "postgress")
    assert result.returncode != 0
    assert "unknown markers" in result.stdout + result.stderr
