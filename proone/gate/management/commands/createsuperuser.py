"""Django's createsuperuser as system work, pointing at migrate_secure when one is pending."""

from django.contrib.auth.management.commands.createsuperuser import Command as CreateSuperuser

from proone.gate.advice import GateMigrationsAdvice
from proone.gate.project import system_scope


class Command(GateMigrationsAdvice, CreateSuperuser):
    """createsuperuser whose unapplied-migrations notice names the command that may apply them.

    A platform operator belongs to no tenant, so only system work may write their row where
    row-level security guards the user table (after bootstrap, the first reviewer).
    """

    def handle(self, *args, **options):
        with system_scope("createsuperuser: a platform operator's account"):
            return super().handle(*args, **options)
