"""The import-linter contracts in pyproject.toml cover every app the project installs.

`lint-imports` (run by .ci/run) checks the code against the contracts; these tests check the
contracts against the project, so a new app cannot land outside them. The module rules of
STYLE.md are checked here too: services, selectors and models under the size limit (a longer
one becomes a package by concern), no `models_x.py`, no star imports, and service packages that
re-export what their submodules define.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
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


# --- Module size and imports (STYLE.md: a module over ~800 lines becomes a package by concern) --

SRC = Path(__file__).resolve().parent.parent / "src" / "medoffice"
MAX_LINES = 800
# Star imports the project keeps, each for a stated reason.
STAR_IMPORTS_ALLOWED = {
    "test_settings.py": "the test settings extend the project's settings, as Django documents",
}


def _app_dirs() -> list[Path]:
    return sorted(path.parent for path in SRC.glob("*/apps.py"))


def _layer_modules(app: Path, layer: str) -> list[Path]:
    """An app's `layer` (services, selectors, models): the module, or every module of the package."""
    single = app / f"{layer}.py"
    return [single] if single.exists() else sorted((app / layer).rglob("*.py"))


def test_services_selectors_and_models_stay_under_the_size_limit():
    checked = {
        path: len(path.read_text().splitlines())
        for app in _app_dirs()
        for layer in ("services", "selectors", "models")
        for path in _layer_modules(app, layer)
    }
    assert SRC / "scheduling" / "services" / "booking.py" in checked  # packages are walked
    assert SRC / "patients" / "models.py" in checked  # and single modules
    too_long = {str(p.relative_to(SRC)): n for p, n in checked.items() if n > MAX_LINES}
    assert too_long == {}, f"split these into packages by concern (over {MAX_LINES} lines)"


def test_no_app_keeps_models_beside_models():
    """A models package, not `models_x.py` star-imported at the end of models.py."""
    extra = sorted(str(p.relative_to(SRC)) for app in _app_dirs() for p in app.glob("models_*.py"))
    assert extra == []


def _star_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.module or "."
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names)
    ]


def test_no_star_imports():
    found = {
        str(path.relative_to(SRC)): _star_imports(path)
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
    }
    assert len(found) > 100  # the whole package was read
    starred = {path for path, modules in found.items() if modules}
    assert starred - set(STAR_IMPORTS_ALLOWED) == set(), "import the names explicitly"
    assert set(STAR_IMPORTS_ALLOWED) <= starred, "an excused star import is gone: drop its excuse"


def test_service_packages_export_every_public_function_and_class():
    """Callers use `from medoffice.<app> import services`; each submodule's public functions
    and classes are re-exported there, by name, in `__all__`."""
    packages = [app for app in _app_dirs() if (app / "services" / "__init__.py").exists()]
    assert {"core", "patients", "scheduling"} <= {app.name for app in packages}
    missing: dict[str, list[str]] = {}
    for app in packages:
        package = importlib.import_module(f"medoffice.{app.name}.services")
        exported = set(package.__all__)
        for path in sorted((app / "services").glob("[!_]*.py")):
            module = importlib.import_module(f"{package.__name__}.{path.stem}")
            public = [
                name
                for name, value in vars(module).items()
                if not name.startswith("_")
                and (inspect.isfunction(value) or inspect.isclass(value))
                and value.__module__ == module.__name__
            ]
            if absent := sorted(set(public) - exported):
                missing[module.__name__] = absent
        assert all(getattr(package, name, None) is not None for name in exported)
    assert missing == {}


# What Django itself writes into a migration: the field classes, validators and defaults the
# models name, referenced by module (`import medoffice.core.fields`).
DJANGO_WRITTEN = {"fields", "validators", "models"}


def _app_code_imported(path: Path) -> list[str]:
    """The app's modules a migration imports to run: anything `from medoffice... import`, or
    inside a function, except the frozen copies beside the migrations (`migrations._name`)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("medoffice"):
            found.append(node.module or "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                written = node in tree.body and alias.name.rsplit(".", 1)[-1] in DJANGO_WRITTEN
                if alias.name.startswith("medoffice") and not written:
                    found.append(alias.name)
    return [name for name in found if ".migrations._" not in name]


def test_migrations_run_no_app_code():
    """A migration keeps working when the app moves on: what it runs is its own or a frozen
    copy kept beside the migrations (`migrations/_name.py`), never the app's live code."""
    migrations = [path for path in SRC.rglob("migrations/*.py") if path.name != "__init__.py"]
    assert len(migrations) > 20  # every app's migrations were read
    live = {str(path.relative_to(SRC)): _app_code_imported(path) for path in migrations}
    assert {path: names for path, names in live.items() if names} == {}, (
        "copy what the migration runs into migrations/_<name>.py"
    )
