"""requirements.lock says what pyproject.toml says: every exact pin there is locked at that
version, and every locked package carries hashes (refresh with `.ci/lock`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["test"],
        *project["build-system"]["requires"],
    ]
    pins = {}
    for requirement in listed:
        match = PIN.match(requirement.strip())
        assert match, f"{requirement!r} in pyproject.toml is not an exact pin"
        pins[_canonical(match[1])] = match[2]
    return pins


def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) from requirements.lock."""
    locked: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if match:
            current = _canonical(match[1])
            locked[current] = (match[2], 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = locked[current]
            locked[current] = (version, hashes + 1)
    return locked


def test_every_pin_of_pyproject_is_locked_at_its_version():
    locked = _locked()
    stale = {
        name: (version, locked.get(name, ("missing", 0))[0])
        for name, version in _pins().items()
        if locked.get(name, ("", 0))[0] != version
    }
    assert stale == {}, f"pyproject.toml vs requirements.lock (run .ci/lock): {stale}"


def test_every_locked_package_has_hashes():
    locked = _locked()
    assert len(locked) > len(_pins())  # the transitive dependencies are there too
    assert [name for name, (_, hashes) in locked.items() if hashes == 0] == []
