"""manage.py seed_demo: load the demo world (development only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from divisions.demo import DEMO_PASSWORD, LOGINS, seed_demo


class Command(BaseCommand):
    help = "Create the demo tenants, divisions, scopes, users and jobs (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--jobs-per-division", type=int, default=60, help="jobs per division (default 60)"
        )

    def handle(self, *args, jobs_per_division, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates users with a published password; it runs only with DEBUG=1."
            )
        if jobs_per_division < 0:
            raise CommandError("--jobs-per-division must be 0 or more.")
        result = seed_demo(jobs_per_division=jobs_per_division)
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Demo world created: {result.jobs} jobs."))
        else:
            self.stdout.write("Demo world already present; nothing changed.")
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, (_, _, role, sees) in LOGINS.items():
            self.stdout.write(f"  {username:<14} {role:<18} sees {sees}")
