"""The import-linter contracts in pyproject.toml cover every app the project installs.

`lint-imports` (run by .ci/run) checks the code against the contracts; these tests check the
contracts against the project, so a new app cannot land outside them.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

from django.conf import settings

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _contracts() -> dict[str, dict]:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    return {contract["name"]: contract for contract in config["contracts"]}


def _apps_other_than_core() -> set[str]:
    return {app for app in settings.MEDOFFICE_APPS if app != "medoffice.core"}


def test_core_may_import_no_installed_app():
    forbidden = set(_contracts()["core imports no other app"]["forbidden_modules"])
    assert _apps_other_than_core() <= forbidden


def test_every_app_is_layered():
    contract = _contracts()[
        "within each app: interfaces -> services/selectors -> models, never back"
    ]
    assert set(settings.MEDOFFICE_APPS) <= set(contract["containers"])


def test_no_app_may_import_the_dashboard():
    name = "no app imports the dashboard (tiles register with core.tile_registry)"
    sources = set(_contracts()[name]["source_modules"])
    assert set(settings.MEDOFFICE_APPS) - {"medoffice.dashboard"} <= sources


def test_x12_itself_is_covered_once_it_exists():
    sources = _contracts()["x12 is a plain library: no Django, no app"]["source_modules"]
    assert "medoffice.x12.**" in sources
    if importlib.util.find_spec("medoffice.x12") is not None:
        assert "medoffice.x12" in sources, "add the x12 package itself to its contract"
