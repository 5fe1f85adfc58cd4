"""Plain `migrate`: refused and audited in protected environments, pointing to migrate_secure;
refused everywhere on a database part-way through a squashed history."""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from proone.gate import GateError, audit
from proone.gate.connection import default_alias
from proone.gate.plan import gate_tables_exist, partial_squashes


def audit_refusal(alias, argv):
    """Record the refused attempt; a note for the operator when it could not be recorded."""
    try:
        if not gate_tables_exist(alias):
            return " (not audited: the database was never bootstrapped)"
        audit.record(
            alias,
            "migrate",
            "refused",
            timezone.now(),
            detail=f"plain migrate {' '.join(argv)}".strip(),
            error="MIGRATIONS_REQUIRE_SIGNOFF is on: plain migrate is disabled",
        )
    except (DatabaseError, GateError) as error:
        return f" (the refusal could not be audited: {str(error).splitlines()[0]})"
    return ""


class Command(DjangoMigrate):
    """Django's migrate, unless MIGRATIONS_REQUIRE_SIGNOFF is on."""

    help = DjangoMigrate.help + " Refused when MIGRATIONS_REQUIRE_SIGNOFF is on."

    def handle(self, *args, **options):
        if getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False):
            target = [x for x in (options.get("app_label"), options.get("migration_name")) if x]
            # Django's default is "default", the app role on PostgreSQL, which may not write
            # the audit log; the gate's own alias (the owner role) records it instead.
            alias = options.get("database")
            note = audit_refusal(default_alias() if alias in (None, "default") else alias, target)
            raise CommandError(
                "Plain `migrate` is disabled here (MIGRATIONS_REQUIRE_SIGNOFF is on). Use "
                "`manage.py migrate_secure --plan` to see what is pending, then "
                f"`manage.py migrate_secure`. See docs/migrations.md.{note}"
            )
        loader = MigrationLoader(connections[options.get("database") or "default"])
        problems = partial_squashes(loader)
        if problems:
            raise CommandError(" ".join(problems))
        return super().handle(*args, **options)
