"""pytest fixtures for the patients app (loaded by the root conftest)."""

from __future__ import annotations

import pytest

from medoffice.testing import patients_factories


@pytest.fixture
def payer(db):
    return patients_factories.payer(name="Lakeshore Health Plan", payer_id="LKS01")


@pytest.fixture
def patient(db):
    return patients_factories.patient(first_name="Maria", last_name="Núñez", phone="+13125550142")


@pytest.fixture
def media_root(settings, tmp_path):
    """Stored documents go to a throwaway folder for the test."""
    settings.MEDIA_ROOT = str(tmp_path / "files")
    return tmp_path / "files"
