"""Fixtures for the operations tests: real `medoffice` installations in throwaway folders."""

from __future__ import annotations

import pytest

from medoffice.testing.ops import Installation

DEMO_SEED = "11"
STORED_FILE = ("patients/1/insurance-card-front.png", b"\x89PNG\r\n\x1a\n demo scan bytes")


@pytest.fixture(scope="session")
def demo_install(tmp_path_factory):
    """An installation with the demo practice and one stored file (shared: do not change it)."""
    install = Installation.create(tmp_path_factory.mktemp("demo-install"))
    try:
        install.run("demo", "--seed", DEMO_SEED)
        stored = install.data / "files" / STORED_FILE[0]
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(STORED_FILE[1])
        yield install
    finally:
        install.destroy()


@pytest.fixture(scope="session")
def demo_backup(demo_install, tmp_path_factory):
    """(backup file of demo_install, fingerprint of demo_install when it was made)."""
    path = tmp_path_factory.mktemp("backups") / "demo-backup.zip"
    result = demo_install.run("backup", str(path))
    assert "Wrote" in result.stdout
    return path, demo_install.fingerprint()


@pytest.fixture
def fresh_install(tmp_path):
    install = Installation.create(tmp_path / "fresh-install")
    try:
        yield install
    finally:
        install.destroy()
