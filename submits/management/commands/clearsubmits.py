"""Delete the form tokens and Idempotency-Keys older than their lifetime (run it daily)."""

from django.core.management.base import BaseCommand

from divisions.scoping import unscoped
from submits.once import purge


class Command(BaseCommand):
    help = (
        "Delete spent form tokens and API Idempotency-Keys older than 24 hours (each user's "
        "are also cleared as they submit). Safe to run at any time, e.g. from cron."
    )

    def handle(self, *args, **options):
        with unscoped("clearsubmits: expired submit keys"):
            deleted = purge()
        self.stdout.write(f"Deleted {deleted} expired submit key{'' if deleted == 1 else 's'}.")
