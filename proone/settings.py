"""
Settings for ProOne, read from the environment (and from a `.env` file beside manage.py).

DATABASE_URL                 where the app's data lives, connecting as the application role
                             (default: SQLite file `db.sqlite3` in the project folder).
DATABASE_MIGRATE_URL         the owner role that runs migrations (PostgreSQL); unset on SQLite.
SECRET_KEY                   signs sessions and tokens; required when DEBUG is off.
DEBUG                        development mode (default: off).
ALLOWED_HOSTS                comma-separated host names served (default: 127.0.0.1,localhost).
MIGRATIONS_REQUIRE_SIGNOFF   plain `migrate` refuses, only `migrate_secure` applies migrations
                             (default: on whenever DEBUG is off).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = BASE_DIR / ".env"
if ENV_FILE.exists():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    # A development key; never used when DEBUG is off, where SECRET_KEY is required.
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-deploy")
else:
    SECRET_KEY = env("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

MIGRATIONS_REQUIRE_SIGNOFF = env.bool("MIGRATIONS_REQUIRE_SIGNOFF", default=not DEBUG)

INSTALLED_APPS = [
    # The migration gate first: its `migrate` command replaces Django's (first app wins).
    "proone.gate",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "divisions",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "divisions.middleware.ScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

AUTH_USER_MODEL = "divisions.User"

AUTHENTICATION_BACKENDS = [
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "proone": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    },
}
