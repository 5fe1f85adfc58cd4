"""System checks: the gate's project settings, a readable .env, migration credentials equal to
the app's, the gate off, the gate key in the application's environment, an access review
attested too long ago."""

import datetime
import os
import stat
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from .attestation import last_attestation
from .connection import MIGRATE_ALIAS, default_alias, described, same_credentials_as_app
from .project import setting_problems


@register()
def check_project_settings(app_configs, **kwargs):
    """Error when a setting that names what the gate takes from the project is unusable."""
    return [
        Error(
            problem,
            hint=f"Set {name} in the settings as proone/settings.py describes.",
            id="gate.E001",
        )
        for name, problem in setting_problems()
    ]


@register(Tags.security, deploy=False)
def check_env_file(app_configs, **kwargs):
    """Warn when the .env file (which holds secrets) is readable by group or others."""
    path = Path(getattr(settings, "ENV_FILE", Path(settings.BASE_DIR) / ".env"))
    if not path.exists():
        return []
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
        return [
            Warning(
                f"{path} is readable or writable by other users (mode {stat.S_IMODE(mode):o}).",
                hint=f"It holds database passwords and SECRET_KEY: chmod 600 {path}",
                id="gate.W001",
            )
        ]
    return []


@register(Tags.security, Tags.database)
def check_migration_credentials(app_configs, **kwargs):
    """Warn when migrations would run with the application's own database credentials."""
    if MIGRATE_ALIAS in connections.settings and same_credentials_as_app(MIGRATE_ALIAS):
        return [
            Warning(
                "DATABASE_MIGRATE_URL uses the same role as DATABASE_URL.",
                hint="Migrate as the owner role; the app's role should own nothing.",
                id="gate.W002",
            )
        ]
    engine = connections.settings["default"].get("ENGINE", "")
    if "postgresql" in engine and MIGRATE_ALIAS not in connections.settings:
        return [
            Warning(
                "DATABASE_MIGRATE_URL is not set: migrations would use the app's credentials.",
                hint="Set DATABASE_MIGRATE_URL to the owner role (docs/migrations.md).",
                id="gate.W003",
            )
        ]
    return []


@register(Tags.security)
def check_signoff_required(app_configs, **kwargs):
    """Warn when DEBUG is off but plain `migrate` still works without sign-off."""
    if not settings.DEBUG and not getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False):
        return [
            Warning(
                "MIGRATIONS_REQUIRE_SIGNOFF is off while DEBUG is off.",
                hint="Shared environments should apply migrations only through migrate_secure.",
                id="gate.W004",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_gate_key_not_in_app_environment(app_configs, **kwargs):
    """Warn when the application's environment holds the gate key (it signs sign-offs)."""
    if os.environ.get("GATE_SIGNING_KEY"):
        return [
            Warning(
                "GATE_SIGNING_KEY is set in this environment. Whoever holds it can forge a "
                "migration sign-off.",
                hint="Keep it in the reviewers' and operators' shells only: remove it from the "
                "application's .env and service environment (docs/migrations.md).",
                id="gate.W005",
            )
        ]
    return []


@register(Tags.security, Tags.database, deploy=True)
def check_access_review(app_configs, databases=None, **kwargs):
    """Warn when no access review was attested within ACCESS_REVIEW_MAX_AGE_DAYS (read with
    the owner's connection when configured; the app role cannot read the audit log)."""
    if not databases:
        return []
    alias = default_alias()
    max_age = getattr(settings, "ACCESS_REVIEW_MAX_AGE_DAYS", 90)
    attest = "manage.py access_review --attest --reviewer USERNAME (docs/operations.md)"
    try:
        with transaction.atomic(using=alias):
            last = last_attestation(alias)
    except DatabaseError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return [
            Warning(
                f"Could not read the access review's attestations in the {described(alias)}: "
                f"{reason}.",
                hint="The app role cannot read the gate's audit log: check with "
                f"DATABASE_MIGRATE_URL set (the owner role), or run {attest} there.",
                id="gate.W007",
            )
        ]
    if last is None:
        return [
            Warning(
                "No access review has been attested.",
                hint=f"Review who holds access and record it: {attest}.",
                id="gate.W006",
            )
        ]
    age = timezone.now() - last.ended_at
    if age > datetime.timedelta(days=max_age):
        return [
            Warning(
                f"The last access review was attested {age.days} days ago by "
                f"{last.reviewer!r} (ACCESS_REVIEW_MAX_AGE_DAYS is {max_age}).",
                hint=f"Review who holds access again and record it: {attest}.",
                id="gate.W006",
            )
        ]
    return []
