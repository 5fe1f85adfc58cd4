"""Test settings: the product's settings, with fast hashing and no sign-offs for test databases."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-deployment")
os.environ.setdefault("DEBUG", "0")
# The test client and the live server speak plain HTTP; the HTTPS redirect itself is tested
# through `manage.py check --deploy` with production settings.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from proone.settings import *  # noqa: E402,F403

# The test database is built by Django's test runner, not by an operator.
MIGRATIONS_REQUIRE_SIGNOFF = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

# unscoped() logs its reason at INFO; factories use it for every row they build.
LOGGING["loggers"]["proone"]["level"] = "WARNING"  # noqa: F405
