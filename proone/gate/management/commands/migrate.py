"""Plain `migrate`, refused in protected environments in favour of `migrate_secure`."""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate


class Command(DjangoMigrate):
    """Django's migrate, unless MIGRATIONS_REQUIRE_SIGNOFF is on."""

    help = DjangoMigrate.help + " Refused when MIGRATIONS_REQUIRE_SIGNOFF is on."

    def handle(self, *args, **options):
        if getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False):
            raise CommandError(
                "Plain `migrate` is disabled here (MIGRATIONS_REQUIRE_SIGNOFF is on). Use "
                "`manage.py migrate_secure --plan` to see what is pending, then "
                "`manage.py migrate_secure`. See docs/migrations.md."
            )
        return super().handle(*args, **options)
