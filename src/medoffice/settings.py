"""Project settings. Everything a deployment changes comes from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from medoffice import paths

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = paths.data_dir()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = paths.secret_key()
FIELD_ENCRYPTION_KEYS = paths.field_keys()
# How often a process checks whether key rotation changed the key file (0: never), and how
# long after its last check it still counts as running (default 2 x check + 5 s).
MEDOFFICE_KEY_CHECK_SECONDS = float(os.environ.get("MEDOFFICE_KEY_CHECK_SECONDS", "5"))
MEDOFFICE_KEY_LIVE_SECONDS = float(os.environ.get("MEDOFFICE_KEY_LIVE_SECONDS", "0")) or None
DEBUG = _env_bool("MEDOFFICE_DEBUG", False)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get(
        "MEDOFFICE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver"
    ).split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("MEDOFFICE_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

# The domain apps, in the order the navigation shows them.
MEDOFFICE_APPS = [
    "medoffice.core",
    "medoffice.dashboard",
    "medoffice.patients",
    "medoffice.scheduling",
    "medoffice.reception",
    "medoffice.ledger",
    "medoffice.coding",
    "medoffice.claims",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_tasks",
    "django_tasks_db",
    *MEDOFFICE_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "medoffice.core.middleware.NoStoreMiddleware",
    "medoffice.core.input_guard.InputGuardMiddleware",
    "medoffice.core.middleware.TokenLinkMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "medoffice.core.middleware.SessionLimitsMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "medoffice.core.middleware.RequestContextMiddleware",
    "medoffice.core.middleware.TwoFactorRequiredMiddleware",
    "medoffice.core.middleware.ModuleSwitchMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "medoffice.urls"
# Dates as MM/DD/YYYY and times as 1:20 PM wherever a template prints one unfiltered.
FORMAT_MODULE_PATH = ["medoffice.formats"]
WSGI_APPLICATION = "medoffice.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "core:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "medoffice.core.context_processors.medoffice",
            ],
            "builtins": ["medoffice.core.templatetags.formats"],
        },
    },
]

# SQLite in the data folder unless DATABASE_URL names another database (PostgreSQL).
_database_url = os.environ.get("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / paths.SQLITE_FILE),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=30000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Stored documents (scans, PDFs, X12 batches) go through the storage API.
MEDIA_ROOT = DATA_DIR / "files"
MEDIA_URL = "/files/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# The shared layout's assets and each app's (static/<app>/) live in the package folder.
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("MEDOFFICE_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sessions live on the server, so logout and deactivation end them there.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_COOKIE_SECURE = _env_bool("MEDOFFICE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Served over HTTPS (secure cookies): browsers are told to use nothing else (HSTS) and plain
# HTTP is redirected. The server speaks plain HTTP, so HTTPS means a TLS-terminating proxy in
# front: its X-Forwarded-Proto header says the request came over HTTPS (it must set it).
SECURE_HSTS_SECONDS = (
    int(os.environ.get("MEDOFFICE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    if SESSION_COOKIE_SECURE
    else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("MEDOFFICE_HSTS_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("MEDOFFICE_HSTS_PRELOAD", SESSION_COOKIE_SECURE)
SECURE_SSL_REDIRECT = _env_bool("MEDOFFICE_SSL_REDIRECT", SESSION_COOKIE_SECURE)
if _env_bool("MEDOFFICE_PROXY_SSL_HEADER", SESSION_COOKIE_SECURE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Dashboard figures are recounted at most this often per user (0: every view).
# Folder clearinghouses may only use folders inside this one (never the data folder's own
# files); a collected file bigger than the limit is left where it is.
MEDOFFICE_MAILBOX_FOLDERS = str(
    Path(os.environ.get("MEDOFFICE_MAILBOX_FOLDERS") or DATA_DIR / "mailbox-folders").resolve()
)
MEDOFFICE_MAILBOX_MAX_BYTES = int(
    os.environ.get("MEDOFFICE_MAILBOX_MAX_BYTES", str(50 * 1024 * 1024))
)
MEDOFFICE_DASHBOARD_CACHE_SECONDS = int(os.environ.get("MEDOFFICE_DASHBOARD_CACHE_SECONDS", "15"))
MEDOFFICE_IDLE_MINUTES = int(os.environ.get("MEDOFFICE_IDLE_MINUTES", "15"))
MEDOFFICE_SESSION_MAX_HOURS = int(os.environ.get("MEDOFFICE_SESSION_MAX_HOURS", "12"))

AXES_FAILURE_LIMIT = int(os.environ.get("MEDOFFICE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("MEDOFFICE_LOCKOUT_HOURS", "0.5"))
# Lock the account, not the address: a practice's staff share one public IP.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False

OTP_TOTP_ISSUER = "medoffice"

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Background jobs -------------------------------------------------------------------
# The database backend needs no extra server; MEDOFFICE_REDIS_URL moves jobs to RQ.
REDIS_URL = os.environ.get("MEDOFFICE_REDIS_URL", "")
if REDIS_URL:
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# Periodic jobs run by `medoffice worker`: task path -> interval in seconds.
MEDOFFICE_SCHEDULE: dict[str, int] = {
    "medoffice.core.tasks.nightly_alerts": 24 * 60 * 60,
    "medoffice.core.tasks.expire_emergency_access": 5 * 60,
    "medoffice.core.tasks.expire_idempotency_keys": 60 * 60,
    "medoffice.core.tasks.seal_audit_trail": 5,  # chains new audit events (no lock meanwhile)
    "medoffice.scheduling.tasks.send_due_reminders": 5 * 60,
    "medoffice.claims.mailbox_tasks.collect_responses": 15 * 60,
    "medoffice.claims.mailbox_tasks.ask_claim_status": 24 * 60 * 60,
}
# Claims without the payer's answer this many days after they were sent are asked about (276).
MEDOFFICE_CLAIM_STATUS_DAYS = int(os.environ.get("MEDOFFICE_CLAIM_STATUS_DAYS", "30"))

# The address patients and calendar apps reach this deployment at (links in reminders).
MEDOFFICE_BASE_URL = os.environ.get("MEDOFFICE_BASE_URL", "http://127.0.0.1:8000")

# Until an SMTP server is named, mail is written as files to the data folder's outbox (a new
# installation, the demo): nothing is lost and nothing fails for want of a server.
EMAIL_BACKEND = os.environ.get(
    "MEDOFFICE_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("MEDOFFICE_EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(DATA_DIR / "outbox")
EMAIL_HOST = os.environ.get("MEDOFFICE_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("MEDOFFICE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("MEDOFFICE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("MEDOFFICE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("MEDOFFICE_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("MEDOFFICE_FROM_EMAIL", "medoffice@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors": {"()": "medoffice.core.log_filters.ClientErrorsOnOneLine"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["client_errors"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("MEDOFFICE_LOG_LEVEL", "WARNING")},
}
