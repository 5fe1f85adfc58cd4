"""Create the PostgreSQL owner and app roles, the database and the grants (needs a superuser)."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from divisions.dbroles import Role, create_db_roles


class Command(BaseCommand):
    help = (
        "Create or update the owner role (from DATABASE_MIGRATE_URL) and the app role (from "
        "DATABASE_URL), their database, grants and the row-level security signing key. "
        "Connects as a superuser given by DATABASE_ADMIN_URL (or --admin-url). Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-url",
            help="superuser URL (prefer the DATABASE_ADMIN_URL environment variable: "
            "arguments are visible to other users of the machine)",
        )

    def handle(self, *args, admin_url=None, **options):
        admin_url = admin_url or os.environ.get("DATABASE_ADMIN_URL")
        if not admin_url:
            raise CommandError(
                "Set DATABASE_ADMIN_URL to a superuser URL, e.g. postgres://postgres@host/postgres"
            )
        try:
            owner = Role.from_settings(settings.DATABASE_MIGRATE, "DATABASE_MIGRATE_URL")
            app = Role.from_settings(settings.DATABASES["default"], "DATABASE_URL")
            create_db_roles(admin_url, owner, app, log=self.stdout.write)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        except Exception as error:  # psycopg errors: report them, not a traceback
            if type(error).__module__.startswith("psycopg"):
                raise CommandError(f"PostgreSQL refused: {error}") from error
            raise
