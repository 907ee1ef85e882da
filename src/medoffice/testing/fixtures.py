"""pytest fixtures for every app's tests (loaded by the root conftest)."""

from __future__ import annotations

import pytest

from medoffice.core.permissions import ROLE_CODES
from medoffice.testing import factories


@pytest.fixture
def practice(db):
    return factories.practice()


@pytest.fixture
def make_user(db, practice):
    return factories.user


@pytest.fixture
def users(db, practice):
    """One user per role, keyed by role code."""
    return {role: factories.user(role) for role in ROLE_CODES}


@pytest.fixture
def client_for(client, users):
    """A logged-in test client for a role: client_for("manager")."""
    from django.test import Client

    def make(role: str) -> Client:
        logged_in = Client()
        logged_in.force_login(users[role])
        return logged_in

    return make


@pytest.fixture(autouse=True)
def _mailbox_folders(settings, tmp_path_factory):
    """Folder clearinghouses may use folders under pytest's temporary folder (each test's
    tmp_path), and nothing outside it."""
    settings.MEDOFFICE_MAILBOX_FOLDERS = str(tmp_path_factory.getbasetemp().resolve())


@pytest.fixture(autouse=True)
def _server_time_zone():
    """Each test starts and ends in the server's zone: a zone one test activated (a demo
    practice in New York) must not move "today" for the next test on the same worker."""
    from django.utils import timezone

    timezone.deactivate()
    yield
    timezone.deactivate()
