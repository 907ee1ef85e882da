"""A run that must not skip the real parts: `MEDOFFICE_REQUIRE=postgres,redis` (set by .ci/run
under CI) turns a skipped test marked with one of those markers into a failure, refuses a
"PostgreSQL" run whose database is not PostgreSQL, and fails a run in which no test with a
required marker passed. Without the variable, such tests may skip (saying why)."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

REQUIRABLE = ("postgres", "redis", "browser")


def required() -> set[str]:
    names = {name.strip() for name in os.environ.get("MEDOFFICE_REQUIRE", "").split(",")}
    unknown = names - set(REQUIRABLE) - {""}
    if unknown:
        raise pytest.UsageError(f"MEDOFFICE_REQUIRE names unknown markers: {sorted(unknown)}")
    return names - {""}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    needed = sorted(required() & {mark.name for mark in item.iter_markers()})
    if needed:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"skipped, but this run requires {', '.join(needed)} (MEDOFFICE_REQUIRE): {reason}"
        )


_counts: dict[str, int] = {}  # required marker -> tests with it that passed (controller)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for name in _counts:
            if name in report.keywords:
                _counts[name] += 1


def pytest_sessionstart(session: pytest.Session) -> None:
    _counts.clear()
    _counts.update(dict.fromkeys(required(), 0))
    if "postgres" in _counts:
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if not engine.endswith("postgresql"):
            pytest.exit(f"MEDOFFICE_REQUIRE=postgres but the database is {engine}", returncode=1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller counts
        return
    missing = sorted(name for name, passed in _counts.items() if passed == 0)
    if missing and session.testscollected:
        message = f"MEDOFFICE_REQUIRE: no test marked {', '.join(missing)} passed in this run"
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, red=True)
        else:
            print(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
