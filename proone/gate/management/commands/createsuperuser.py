"""Django's createsuperuser, pointing at migrate_secure (not `migrate`) when one is pending."""

from django.contrib.auth.management.commands.createsuperuser import Command as CreateSuperuser

from proone.gate.advice import GateMigrationsAdvice


class Command(GateMigrationsAdvice, CreateSuperuser):
    """createsuperuser whose unapplied-migrations notice names the command that may apply them."""
