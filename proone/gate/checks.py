"""System checks: the gate's project settings, a readable .env, migration credentials equal to
the app's, the gate off, the gate key in the application's environment."""

import os
import stat
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections

from .connection import MIGRATE_ALIAS, same_credentials_as_app
from .project import setting_problems


@register()
def check_project_settings(app_configs, **kwargs):
    """Error when a setting that names what the gate takes from the project is unusable."""
    return [
        Error(
            problem,
            hint=f"Set {name} in the settings to a dotted path (proone/settings.py says which).",
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
