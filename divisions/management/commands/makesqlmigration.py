"""Write a migration for what changed in the database layer's source (divisions/database/)."""

from django.core.management.base import BaseCommand, CommandError

from divisions.database import generate


class Command(BaseCommand):
    help = (
        "Write a migration with literal forward and reverse SQL for what changed in "
        "divisions/database/ since the migrated state; --check fails when anything did."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", default="database_layer", help="the migration's name")
        parser.add_argument(
            "--check", action="store_true", help="write nothing; exit 1 when a change is pending"
        )

    def handle(self, *args, name, check, **options):
        try:
            if check:
                found, _ = generate.pending()
                count = sum(len(forward) for forward, _ in found.values())
                if count:
                    raise CommandError(
                        f"divisions/database/ changed without a migration ({count} "
                        f"statement{'' if count == 1 else 's'} pending): run "
                        "`manage.py makesqlmigration --name NAME`.",
                        returncode=1,
                    )
                self.stdout.write("The database layer's migrations match its source.")
                return
            path = generate.write(name, f"The database layer: {name.replace('_', ' ')}.")
        except ValueError as error:
            raise CommandError(str(error)) from None
        if path is None:
            self.stdout.write("No changes in the database layer's source.")
        else:
            self.stdout.write(f"Wrote {path}")
