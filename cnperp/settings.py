"""Settings for CNPERP Banking, read from the environment.

``DATABASE_URL`` chooses the database: ``mysql://user:pass@host:3306/name`` in
production, ``sqlite:///path`` (the default) for a first run on a laptop.
"""

import os
import re
import zoneinfo
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# Strict readers: a value the reader does not understand stops the start with the variable
# named. environ's own read "maybe" as off (segregation of duties silently switched off by a
# typo) and failed on "abc" with a traceback that named no variable.
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def _raw(name):
    value = os.environ.get(name)
    return None if value is None else value.strip()


def _bool(name, default):
    value = _raw(name)
    if value is None or value == "":
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use true or false (1/0, yes/no, on/off).")


def _int(name, default, *, minimum=0, maximum=None):
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: use a whole number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: use a number of at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={value!r}: use a number from {minimum} to {maximum}.")
    return number


def _decimal(name, default):
    """A non-negative, finite amount or score, as ``Decimal`` (``1000.00``; no thousands separators)."""
    value = _raw(name)
    if value is None or value == "":
        value = default
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise ImproperlyConfigured(f"{name}={value!r}: use a number such as {default}.") from None
    if not number.is_finite() or number < 0:
        raise ImproperlyConfigured(f"{name}={value!r}: use a number of 0 or more, such as {default}.")
    return number


def _text(name, default):
    """A text setting; unset or empty means ``default`` (an empty host list or path is never meant)."""
    value = _raw(name)
    return default if value is None or value == "" else value


def _choice(name, default, valid, example):
    value = _text(name, default)
    if not valid(value):
        raise ImproperlyConfigured(f"{name}={value!r}: use {example}.")
    return value


def _time_zone_known(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _cache_config(name, default):
    value = _text(name, default)
    try:
        return environ.Env.cache_url_config(value)
    except Exception as error:  # environ raises several kinds, none naming the variable
        raise ImproperlyConfigured(
            f"{name}={value!r}: use a cache URL such as rediscache://host:6379/1 ({error})."
        ) from None


DEBUG = _bool("DJANGO_DEBUG", default=False)

# A development key is allowed only when DEBUG is on; production must set its own.
_DEV_SECRET_KEY = "django-insecure-cnperp-development-only-key-change-me"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it in the environment (or DJANGO_DEBUG=1 for development)."
    )

_HOSTS = _text("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
ALLOWED_HOSTS = [host.strip() for host in _HOSTS.split(",") if host.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "cnperp",
    "dimensions",
    "accounting",
    "banking",
]

MIDDLEWARE = [
    # Outermost, so every answer (redirects and 503s included) is timed, counted
    # and logged with its request id.
    "cnperp.middleware.RequestObservabilityMiddleware",
    # Reads only the raw path and headers: its HTTPS redirect and headers (HSTS,
    # nosniff) apply to every answer, the 415 below included.
    "django.middleware.security.SecurityMiddleware",
    # Before anything decodes the query string or the body: a charset that can
    # spell a lone surrogate (utf-7, ...) is a 415, logged and counted above.
    "cnperp.middleware.RequestCharsetMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the audit trail names the admin's or the API's user (cnperp.audit).
    "cnperp.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cnperp.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "cnperp.wsgi.application"

# --- Database -------------------------------------------------------------

DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")


def database_from_url(url):
    """Return a Django database setting for ``url``, hardened for MySQL/MariaDB."""
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.mysql":
        options = config.setdefault("OPTIONS", {})
        options.setdefault("charset", "utf8mb4")
        # READ COMMITTED is what Django assumes for MySQL; strict mode refuses
        # truncated amounts and bad dates instead of storing a guess.
        options.setdefault("isolation_level", "read committed")
        options.setdefault(
            "init_command",
            "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
            "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
        )
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
        config.setdefault("CONN_MAX_AGE", _int("DATABASE_CONN_MAX_AGE", 60))
        config["CONN_HEALTH_CHECKS"] = True
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {})
        config["OPTIONS"].setdefault("timeout", 20)
    return config


DATABASES = {"default": database_from_url(DATABASE_URL)}

# Reports may read from a replica (cnperp.db_router.read_replica); writes and
# postings always go to "default". Unset, everything reads the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
READ_REPLICA_ALIAS = None
if DATABASE_REPLICA_URL:
    READ_REPLICA_ALIAS = "replica"
    DATABASES["replica"] = {**database_from_url(DATABASE_REPLICA_URL)}
    DATABASES["replica"]["TEST"] = {**DATABASES["replica"].get("TEST", {}), "MIRROR": "default"}
DATABASE_ROUTERS = ["cnperp.db_router.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------

# Checked by the admin's password forms and by create_api_user --password.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": _int("DJANGO_PASSWORD_MIN_LENGTH", 12, minimum=1)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/admin/login/"

# Every username/password sign-in (admin, browsable API, POST /api/v1/auth/token)
# goes through the lockout: LOGIN_LOCKOUT_FAILURES failures for one username from
# one address within LOGIN_LOCKOUT_MINUTES lock that pair until the window ends.
AUTHENTICATION_BACKENDS = ["cnperp.security.LockoutModelBackend"]
LOGIN_LOCKOUT_FAILURES = _int("DJANGO_LOGIN_LOCKOUT_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = _int("DJANGO_LOGIN_LOCKOUT_MINUTES", 15)
# Proxies in front that append the address they saw to X-Forwarded-For (nginx: 1). With 0 the
# header is ignored: clients write it themselves (cnperp/client_address.py).
TRUSTED_PROXIES = _int("DJANGO_TRUSTED_PROXIES", 0)
# /metrics shows the ledger's figures (variance per account, drafts, postings per month) only to a
# scraper that sends this token (Authorization: Bearer ...); without it, the process metrics only.
METRICS_TOKEN = _text("DJANGO_METRICS_TOKEN", "")

# Lockout counters and API rate limits live here; with several gunicorn workers
# use a shared cache (redis://..., or dbcache://cnperp_cache after createcachetable).
CACHES = {"default": _cache_config("DJANGO_CACHE_URL", "locmemcache://")}

# Maker-checker: nobody posts a transaction they created or signs off a
# reconciliation they prepared (cnperp.duties).
BANKING_SEGREGATION_OF_DUTIES = _bool("BANKING_SEGREGATION_OF_DUTIES", default=True)

# The audit trail (cnperp.audit): an entry's correlation id is the request id of the log lines.
AUDITLOG_CID_GETTER = "cnperp.audit.request_id"

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = _choice("DJANGO_TIME_ZONE", "UTC", _time_zone_known, "a time zone name such as Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# --- API --------------------------------------------------------------------


def _throttle_rate(name, default):
    """A DRF rate such as ``1200/minute``; empty or ``none`` means no limit."""
    rate = env.str(name, default=default).strip()
    if rate.lower() in ("", "none", "off", "0"):
        return None
    # DRF reads "N/period" only when the first request comes: a bad rate was a 500 on every call.
    if not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", rate):
        raise ImproperlyConfigured(
            f"{name}={rate!r}: use a rate such as 1200/minute (per s, m, h or d), or none."
        )
    return rate


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cnperp.permissions.FinanceModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "cnperp.filters.KnownParametersFilterBackend",
        "cnperp.search.SearchFilter",
        "cnperp.ordering.OrderingFilter",
    ],
    # JSON that spells a lone surrogate is refused at the door (cnperp/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "cnperp.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # A ?format= the endpoint does not render is a 400 naming it, not a 404 denying the record.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "cnperp.negotiation.FormatNegotiation",
    "DEFAULT_PAGINATION_CLASS": "cnperp.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "cnperp.schema.FinanceAutoSchema",
    "EXCEPTION_HANDLER": "cnperp.exceptions.api_exception_handler",
    # Per signed-in user and per anonymous address; "" or "none" switches one off.
    "DEFAULT_THROTTLE_CLASSES": ["cnperp.throttles.AnonRateThrottle", "cnperp.throttles.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _throttle_rate("DJANGO_API_THROTTLE_ANON", "60/minute"),
        "user": _throttle_rate("DJANGO_API_THROTTLE_USER", "1200/minute"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CNPERP Banking API",
    "DESCRIPTION": (
        "Bank transactions, branch cash submissions and float allocations tagged with "
        "cost centre, project and department; balanced GL postings; statement import "
        "and reconciliation; cash position and variance reports."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    # /docs and /redoc from the app's own static files, not a CDN: they work without internet
    # access, at the version pinned in requirements.txt.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Money and banking ------------------------------------------------------

MONEY_MAX_DIGITS = 18
MONEY_DECIMAL_PLACES = 2

BANKING_RECONCILIATION_THRESHOLD = _decimal("BANKING_RECONCILIATION_THRESHOLD", "1000.00")
BANKING_VARIANCE_ALERT_THRESHOLD = _decimal("BANKING_VARIANCE_ALERT_THRESHOLD", "5000.00")
# The largest statement file accepted by the API, the admin and import_statement.
BANKING_STATEMENT_MAX_BYTES = _int("BANKING_STATEMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
# Days after which a transfer still in transit is flagged in transfer tracking.
BANKING_TRANSFER_ATTENTION_DAYS = _int("BANKING_TRANSFER_ATTENTION_DAYS", 3)
# The matcher (docs/reconciliation.md): days between the bank's date and ours for an amount
# match, and the score (0-100) from which a certain match is confirmed without a person.
# Checked here, at start, in the ranges the matcher accepts (banking.matching): a value out of
# them stopped the first matcher run, hours later in cron, instead of the start.
BANKING_MATCH_DATE_WINDOW_DAYS = _int("BANKING_MATCH_DATE_WINDOW_DAYS", 5, maximum=90)
BANKING_MATCH_AUTO_CONFIRM_SCORE = _decimal("BANKING_MATCH_AUTO_CONFIRM_SCORE", "90")
if not 50 <= BANKING_MATCH_AUTO_CONFIRM_SCORE <= 100:
    raise ImproperlyConfigured(
        f"BANKING_MATCH_AUTO_CONFIRM_SCORE={BANKING_MATCH_AUTO_CONFIRM_SCORE}: use a score from 50 to 100."
    )

# --- Security (production) ----------------------------------------------------
#
# Secure by default whenever DEBUG is off, so `check --deploy` is clean with only
# DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS set. Each can be turned off from the
# environment, for example DJANGO_SECURE_SSL_REDIRECT=0 when TLS ends at a proxy
# that already redirects. The test suite turns the redirect off in cnperp.settings_test.

_SECURE_DEFAULT = not DEBUG
SECURE_SSL_REDIRECT = _bool("DJANGO_SECURE_SSL_REDIRECT", default=_SECURE_DEFAULT)
# Load balancers and Prometheus probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
SECURE_HSTS_SECONDS = _int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if _SECURE_DEFAULT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_SECURE_DEFAULT)
SECURE_HSTS_PRELOAD = _bool("DJANGO_SECURE_HSTS_PRELOAD", default=_SECURE_DEFAULT)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = _bool("DJANGO_SESSION_COOKIE_SECURE", default=_SECURE_DEFAULT)
CSRF_COOKIE_SECURE = _bool("DJANGO_CSRF_COOKIE_SECURE", default=_SECURE_DEFAULT)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Admin sessions end after DJANGO_SESSION_COOKIE_AGE seconds (default 8 hours, a working day).
SESSION_COOKIE_AGE = _int("DJANGO_SESSION_COOKIE_AGE", 8 * 60 * 60)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
# Behind nginx (or any proxy ending TLS) that sets X-Forwarded-Proto.
if _bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Operations: backups, metrics -------------------------------------------------

BACKUP_DIR = Path(_text("BACKUP_DIR", str(BASE_DIR / "backups")))
BACKUP_KEEP = _int("BACKUP_KEEP", 14, minimum=1)

# --- Logging ----------------------------------------------------------------
#
# One JSON object per line on stdout (journald and log shippers read it as is),
# and the same lines in LOG_FILE when it is set. DJANGO_LOG_FORMAT=plain gives
# the human format, the default under DEBUG.

LOG_FILE = env.str("LOG_FILE", default="")
LOG_FORMAT = _choice(
    "DJANGO_LOG_FORMAT",
    "plain" if DEBUG else "json",
    lambda value: value in ("json", "plain"),
    "json or plain",
)
LOG_LEVEL = _choice(
    "DJANGO_LOG_LEVEL",
    "INFO",
    lambda value: value in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"},
    "DEBUG, INFO, WARNING, ERROR or CRITICAL",
)
_LOG_HANDLERS = ["console"] + (["file"] if LOG_FILE else [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "cnperp.jsonlog.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "cnperp.jsonlog.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
        **(
            {
                "file": {
                    # Reopens the file after logrotate moves it.
                    "class": "logging.handlers.WatchedFileHandler",
                    "filename": LOG_FILE,
                    "formatter": "json",
                    "filters": ["request_id"],
                }
            }
            if LOG_FILE
            else {}
        ),
    },
    "root": {"handlers": _LOG_HANDLERS, "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The request line is ours (cnperp.request); Django's own would repeat it for 4xx/5xx.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
ADMINS = [("Finance operations", a) for a in env.list("DJANGO_ADMINS", default=[])]
