"""
Settings for ProOne, read from the environment (and from a `.env` file beside manage.py).

DATABASE_URL                 where the app's data lives, connecting as the application role
                             (default: SQLite file `db.sqlite3` in the project folder).
DATABASE_MIGRATE_URL         the owner role that runs migrations (PostgreSQL); unset on SQLite.
DATABASE_REPLICA_URL         a hot standby of DATABASE_URL's database (PostgreSQL streaming
                             replication), as the same app role: the portal's reads go there
                             (divisions/replicas.py, docs/scaling.md). Unset: one database.
DATABASE_REPLICA_MAX_LAG     seconds the standby may lag before reads fall back to the
                             primary (default: 5).
DATABASE_REPLICA_READ_YOUR_WRITES  seconds a browser reads from the primary after a request of
                             its wrote (default: 10).
SECRET_KEY                   signs sessions and tokens; required when DEBUG is off.
SECRET_KEY_FALLBACKS         comma-separated retired SECRET_KEYs: what they signed (sessions,
                             password reset links) is still accepted, nothing new is signed
                             with them (default: none; docs/operations.md, "Rotating
                             SECRET_KEY").
RLS_SIGNING_KEY              signs the principal sent to PostgreSQL's row-level security
                             (default: derived from SECRET_KEY). After changing it (or
                             SECRET_KEY) run `manage.py create_db_roles` to store it in the
                             database; see docs/operations.md.
RLS_SIGNING_KEY_FALLBACKS    comma-separated retired RLS_SIGNING_KEYs that `create_db_roles`
                             stores for the database to accept while the fleet restarts onto
                             the new key; the app never signs with them (default: derived from
                             SECRET_KEY_FALLBACKS when RLS_SIGNING_KEY is derived, else none).
DEBUG                        development mode (default: off).
ALLOWED_HOSTS                comma-separated host names served (default: 127.0.0.1,localhost).
MIGRATIONS_REQUIRE_SIGNOFF   plain `migrate` refuses, only `migrate_secure` applies migrations
                             (default: on whenever DEBUG is off).
SECURE_SSL_REDIRECT          redirect plain HTTP to HTTPS (default: on whenever DEBUG is off).
SECURE_HSTS_SECONDS          Strict-Transport-Security max-age (default: one year when DEBUG is
                             off, 0 when on).
SECURE_PROXY_SSL_HEADER      set to 1 when a TLS-terminating proxy you trust sets
                             X-Forwarded-Proto (default: off).
AXES_FAILURE_LIMIT           failed sign-ins from one address for one username before that pair
                             is locked out (default: 5).
AXES_COOLOFF_MINUTES         how long a lockout lasts (default: 15).
API_TOKEN_RATE               requests one API token may make, e.g. 120/minute (the default):
                             counted in the database, so the limit holds across every worker
                             and host (api/throttling.py).
ACCESS_REVIEW_MAX_AGE_DAYS   days an attested access review stays current; older (or none),
                             `check --deploy --database default` warns, gate.W006 (default: 90).
LOG_LEVEL                    level of the product's own log lines on stderr (default: INFO).
GATE_LOCK_TIMEOUT            seconds a migration run by migrate_secure may wait for each lock
                             (PostgreSQL lock_timeout; default: 5) before the try is cancelled,
                             rather than queue every query behind it; 0: no limit.
GATE_LOCK_RETRIES            how many times such a cancelled migration is tried again, after
                             1, 2, 4 ... s, before the run fails (default: 3).
GATE_STATEMENT_TIMEOUT       seconds one statement of a migration may run (PostgreSQL
                             statement_timeout; default: 600); 0: no limit. A migration
                             overrides both timeouts with class attributes `lock_timeout` and
                             `statement_timeout` (proone/gate/timeouts.py).

Stated in this file, not read from the environment: what the migration gate (proone/gate), an
app that imports none of the others, takes from the project it guards (system check gate.E001):
GATE_SYSTEM_SCOPE            dotted path of the context manager factory, called as
                             f(reason, database=...), that the gate's work runs in: the
                             project's unscoped system scope (divisions.scoping.unscoped).
GATE_APP_READS_ONLY          dotted path of the tuple of tables only migrations write, which the
                             gate leaves the app role only SELECT on after every migration run
                             (divisions.dbroles.APP_READS_ONLY).
GATE_ACCESS_REVIEW           dotted path of the function that lists the project's privileged
                             accounts and the app role's privilege drift for `manage.py
                             access_review` (divisions.access_review.sections).
GATE_ROW_SECURITY            dotted path of the function that returns the tables the database
                             source puts under row-level security
                             (divisions.database.source.row_security_tables): the lint's MG119.
GATE_TENANT_APPS             the app labels whose tables hold tenants' rows: a new table there
                             without row-level security is the lint's MG119.

Read by the migration gate's commands from their own environment, never by these settings, and
never set in the application's environment (`check --deploy` warns, gate.W005):
GATE_SIGNING_KEY             signs and checks migration sign-offs (reviewers and operators only).
GATE_AUDIT_ANCHOR            append-only file that receives the audit log's head after each row.
GATE_AUDIT_SYSLOG            1: also send each head to syslog (facility auth).
"""

import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = BASE_DIR / ".env"
if ENV_FILE.exists():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    # A development key; never used when DEBUG is off, where SECRET_KEY is required.
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-deploy")
elif "SECRET_KEY" in env:
    SECRET_KEY = env("SECRET_KEY")
else:
    raise ImproperlyConfigured(
        "Set SECRET_KEY (DEBUG is off): a long random string kept secret, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`; see docs/deploy.md."
    )


def key_list(name):
    """The comma-separated keys of an environment variable; an empty one is never a key."""
    return [key.strip() for key in env.list(name, default=[]) if key.strip()]


SECRET_KEY_FALLBACKS = key_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

MIGRATIONS_REQUIRE_SIGNOFF = env.bool("MIGRATIONS_REQUIRE_SIGNOFF", default=not DEBUG)
GATE_SYSTEM_SCOPE = "divisions.scoping.unscoped"
GATE_APP_READS_ONLY = "divisions.dbroles.APP_READS_ONLY"
GATE_LOCK_TIMEOUT = env.float("GATE_LOCK_TIMEOUT", default=5.0)
GATE_LOCK_RETRIES = env.int("GATE_LOCK_RETRIES", default=3)
GATE_STATEMENT_TIMEOUT = env.float("GATE_STATEMENT_TIMEOUT", default=600.0)
GATE_ACCESS_REVIEW = "divisions.access_review.sections"
GATE_ROW_SECURITY = "divisions.database.source.row_security_tables"
GATE_TENANT_APPS = ("divisions", "jobs", "api", "submits")
ACCESS_REVIEW_MAX_AGE_DAYS = env.int("ACCESS_REVIEW_MAX_AGE_DAYS", default=90)

INSTALLED_APPS = [
    # The migration gate first: its `migrate` command replaces Django's (first app wins).
    "proone.gate",
    # django.contrib.admin with the tenant-aware site (divisions/admin_site.py) as admin.site.
    "divisions.apps.ProOneAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "axes",
    "divisions",
    # Spent form tokens and API Idempotency-Keys: a submit writes once.
    "submits",
    "jobs",
    # The JSON API (/api/) and personal access tokens (/account/tokens/).
    "rest_framework",
    "drf_spectacular",
    "api",
    # seed_demo: the demo world and generated worlds for benchmarks.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Only with DATABASE_REPLICA_URL: outside the session and the scope, so that it sees
    # every write of the request (the session's too) and the scope can read from the replica.
    "divisions.replicas.ReplicaMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # An API request's token is checked and counted against its rate before the scope's
    # transaction opens (api/middleware.py).
    "api.middleware.TokenMiddleware",
    "divisions.middleware.ScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "proone.urls"

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

WSGI_APPLICATION = "proone.wsgi.application"
ASGI_APPLICATION = "proone.asgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASE_MIGRATE = env.db("DATABASE_MIGRATE_URL") if "DATABASE_MIGRATE_URL" in env else None
# Persistent connections on PostgreSQL unless DATABASE_URL says `?conn_max_age=`: a request
# then skips the connection and its SCRAM handshake. Safe with row-level security: the
# principal is transaction-local (tests/divisions/test_rls_pooling.py), and health checks
# replace a connection the server or PgBouncer closed.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Covering indexes (INCLUDE, job_division_covering) are PostgreSQL's: SQLite builds their key
# columns only, which Django would otherwise warn about on every command (models.W040).
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# A read replica: the portal's reads on a hot standby, writes and the admin on the primary.
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=5.0)
DATABASE_REPLICA_READ_YOUR_WRITES = env.int("DATABASE_REPLICA_READ_YOUR_WRITES", default=10)
if "DATABASE_REPLICA_URL" in env:
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must name a PostgreSQL standby (postgres://...) of the "
            "database in DATABASE_URL; unset it to use one database."
        )
    DATABASES["replica"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["replica"].setdefault("CONN_HEALTH_CHECKS", True)
    # The test runner neither creates nor flushes it: it replicates the default database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["divisions.replicas.ReplicaRouter"]

# Server-side prepared statements, on PostgreSQL when DATABASE_PREPARED_STATEMENTS=1: Django
# binds parameters on the server and psycopg prepares a statement the fifth time a connection
# runs it, so PostgreSQL can keep its plan (and its row-level security policies, expanded)
# instead of planning it again for every request (docs/benchmarks.md: lists, detail and notes
# pages 5-11% faster). Off by default, and only for connections that reach PostgreSQL
# directly: PgBouncer in transaction mode before 1.22 mixes up prepared statements between
# its clients (docs/deploy.md section 5).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=False)
if DATABASE_PREPARED_STATEMENTS:
    for database in DATABASES.values():
        if database["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured(
                "DATABASE_PREPARED_STATEMENTS=1 needs PostgreSQL in DATABASE_URL: SQLite has "
                "no server-side prepared statements; unset it."
            )
        database.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

# PostgreSQL row-level security: the key that signs the principal (divisions/rls.py).
# A key derived from SECRET_KEY rotates with it: its retired ones come from the retired
# SECRET_KEYs, so rotating SECRET_KEY alone keeps the principal working (docs/operations.md).
RLS_SIGNING_KEY = env("RLS_SIGNING_KEY", default=f"proone-rls:{SECRET_KEY}")
if "RLS_SIGNING_KEY_FALLBACKS" in env or "RLS_SIGNING_KEY" in env:
    RLS_SIGNING_KEY_FALLBACKS = key_list("RLS_SIGNING_KEY_FALLBACKS")
else:
    RLS_SIGNING_KEY_FALLBACKS = [f"proone-rls:{key}" for key in SECRET_KEY_FALLBACKS]

AUTH_USER_MODEL = "divisions.User"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username/address pair is refused before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/jobs/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-guardian: no anonymous user row; anonymous visitors hold no object permissions.
ANONYMOUS_USER_NAME = None

# --- Portal web security (login throttling, CSP, HTTPS, static files) -----------------------
# HTTPS and cookies: everything a browser should enforce, on whenever DEBUG is off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Database sessions; on PostgreSQL reached only by key (divisions/sessions.py).
SESSION_ENGINE = "divisions.sessions"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp 4): only our own static files; no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Login throttling (django-axes): lock one username from one address after repeated failures,
# so an attacker cannot lock a real user out from elsewhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
# Each combination names the username: the records are kept per username (below).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Each record is read and written for the username it names; on PostgreSQL nothing else may
# (divisions/login_history.py). The admin's pages for it are divisions/admin_login_history.py.
AXES_HANDLER = "divisions.login_history.LoginHistoryHandler"
AXES_ENABLE_ADMIN = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Static files come from the app itself (whitenoise): no CDN, the pages work offline. Serving
# straight from the finders means no collectstatic step is needed before the app starts.
WHITENOISE_USE_FINDERS = True
# STATIC_ROOT only exists after an optional collectstatic; its absence is expected, not a fault.
warnings.filterwarnings("ignore", message="No directory at: ", module="whitenoise.base")
# The JSON API (api/): bearer tokens only (a session cookie never authenticates it), JSON in
# and out, errors as JSON (500s and 503s included: proone/urls.py handler500), one rate limit
# per token counted in the database; the OpenAPI 3 schema at /api/schema/.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env("API_TOKEN_RATE", default="120/minute")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.json_error",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ProOne API",
    "DESCRIPTION": (
        "The jobs a personal access token's user may see, their notes and status changes."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One enum for a job's status wherever it appears (a job, a status change's fields).
    "ENUM_NAME_OVERRIDES": {"StatusEnum": "jobs.models.Job.Status"},
}

# --- end portal web security --------------------------------------------------------------

# Everything goes to stderr (the process manager or container runtime keeps it), one line per
# record with its level and logger name: `unscoped access: ...` reads as the INFO audit line it
# is (logger proone.scoping), and with DEBUG off every server error (django.request, 500) is
# written with its traceback, which Django's default configuration would only mail to ADMINS.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "{asctime} {levelname} {name} {message}", "style": "{"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "line",
        },
    },
    "loggers": {
        "proone": {"handlers": ["stderr"], "level": env("LOG_LEVEL", default="INFO")},
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
