"""manage.py seed_demo: load the readable demo world, or generate one at a given size."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from demo import scale
from demo.world import DEMO_PASSWORD, LOGINS, seed_demo


class Command(BaseCommand):
    help = (
        "Without sizes: create the demo tenants, divisions, scopes, users and jobs (idempotent, "
        "DEBUG only). With any of --tenants/--divisions/--users/--jobs: generate a large world "
        "for benchmarks (users there have no usable password)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--jobs-per-division", type=int, default=60, help="demo world: jobs per division"
        )
        sizes = parser.add_argument_group("a generated world at scale")
        sizes.add_argument("--tenants", type=int, help="tenants (default 3)")
        sizes.add_argument("--divisions", type=int, help="divisions per tenant (default 20)")
        sizes.add_argument("--users", type=int, help="users per division (default 2)")
        sizes.add_argument("--jobs", type=int, help="jobs in all (default 10000)")
        sizes.add_argument("--reset", action="store_true", help="delete a generated world first")

    def handle(self, *args, jobs_per_division, reset, **options):
        given = {
            k: options[k]
            for k in ("tenants", "divisions", "users", "jobs")
            if options[k] is not None
        }
        if given or reset:
            return self.generate(scale.Sizes(**given), reset)
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

    def generate(self, sizes, reset):
        try:
            sizes.check()
        except ValueError as error:
            raise CommandError(str(error)) from error
        if reset:
            scale.delete_scale_world()
        elif scale.scale_world_exists():
            raise CommandError("A generated world is already there; add --reset to replace it.")
        with tqdm(total=sizes.jobs, unit=" jobs", disable=None, file=self.stderr) as bar:
            written = scale.seed_at_scale(sizes, progress=bar.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {sizes.tenants} tenants ({', '.join(scale.SHAPES)} in turn), "
                f"{sizes.divisions} divisions each, {sizes.users} users per division, "
                f"{written} jobs."
            )
        )
