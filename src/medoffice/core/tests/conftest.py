"""Fixtures of the foundation's tests."""

from __future__ import annotations

import pytest

# Hashing every test user with Argon2 (the production hasher, ~0.2 s each) would make the
# suite slow; the hasher itself is tested in test_security.py with the production setting.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def objects(db, practice, users):
    """One of each setup record, for pages and endpoints that take an id."""
    from medoffice.testing import factories

    location = factories.location()
    provider = factories.provider(locations=[location])
    return {"location": location, "provider": provider, "member": users["front_desk"]}
