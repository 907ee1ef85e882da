"""Settings for the test suite: a throwaway data folder and a non-UTC zone, so naive datetimes fail."""

import os
import tempfile

os.environ.setdefault("MEDOFFICE_DATA", tempfile.mkdtemp(prefix="medoffice-test-"))

from medoffice.settings import *  # noqa: F403
from medoffice.settings import DATA_DIR, DATABASES

TIME_ZONE = "America/Chicago"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so tests can use several connections (threads) at once.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests set the field keys themselves (override_settings); the tests of key rotation across
# processes turn the epoch check on where they need it.
MEDOFFICE_KEY_CHECK_SECONDS = 0
# Serialized rollback restores the migrations' data (roles…) but not content types and
# permissions: flush re-creates those, and restoring them too would collide (as in Django's
# own test suite).
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]

# Tests create many users; the production hashers are slow on purpose (login still works).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests read the dashboard's figures right after writing them; test_dashboard_cache turns it on.
MEDOFFICE_DASHBOARD_CACHE_SECONDS = 0
