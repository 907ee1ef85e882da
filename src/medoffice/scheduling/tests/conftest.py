import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need a password, not a strong one: keep the suite fast on a shared machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
