"""Make this server the Citus coordinator of ProOne's database and add its workers, or check
which tables the cluster distributes (docs/citus-runbook.sh; needs a superuser)."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from divisions.citus_nodes import DISTRIBUTED_TABLES, add_workers, address, distribution
from divisions.dbroles import Role


class Command(BaseCommand):
    help = (
        "On a Citus coordinator (DATABASE_ADMIN_URL, a superuser's URL): add the workers "
        "HOST:PORT (each set up first by manage.py create_db_roles) to the database of "
        "DATABASE_MIGRATE_URL, or with --check list the nodes and the distributed tables and "
        "fail unless ProOne's are distributed and every worker keeps to the owner what "
        "Citus does not call there as the app role. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("workers", nargs="*", metavar="HOST:PORT", help="the workers")
        parser.add_argument(
            "--coordinator",
            metavar="HOST:PORT",
            help="where the workers reach the coordinator (default: DATABASE_ADMIN_URL's)",
        )
        parser.add_argument("--check", action="store_true", help="list, change nothing")

    def handle(self, *args, workers=(), coordinator=None, check=False, **options):
        from urllib.parse import urlsplit

        admin_url = os.environ.get("DATABASE_ADMIN_URL")
        if not admin_url:
            raise CommandError(
                "Set DATABASE_ADMIN_URL to the coordinator's superuser URL, "
                "e.g. postgres://postgres@coordinator/postgres"
            )
        if not check and not workers:
            raise CommandError("Name the workers: manage.py citus_nodes HOST:PORT [HOST:PORT ...]")
        try:
            database = Role.from_settings(settings.DATABASE_MIGRATE, "DATABASE_MIGRATE_URL")
            if check:
                return self.check_distribution(admin_url, database.database)
            parts = urlsplit(admin_url)
            here = (parts.hostname or "localhost", parts.port or 5432)
            add_workers(
                admin_url,
                database.database,
                address(coordinator) if coordinator else here,
                [address(worker) for worker in workers],
                log=self.stdout.write,
            )
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        except Exception as error:  # psycopg errors: their first line, not a traceback
            if type(error).__module__.startswith("psycopg"):
                first = str(error).strip().splitlines()[0]
                raise CommandError(f"PostgreSQL refused: {first}") from error
            raise

    def check_distribution(self, admin_url, database):
        found = distribution(admin_url, database)
        for host, port, role, active in found.nodes:
            self.stdout.write(f"node {host}:{port} {role} {'active' if active else 'INACTIVE'}")
        methods = {table: method for table, method, _ in found.partitions}
        for table, method, colocation in found.partitions:
            self.stdout.write(f"table {table} partmethod {method} colocation {colocation}")
        missing = [table for table in DISTRIBUTED_TABLES if methods.get(table) != "h"]
        if missing:
            raise CommandError(
                f"Not distributed: {', '.join(missing)}; apply the migrations "
                "(manage.py migrate_secure) on the coordinator"
            )
        self.stdout.write(f"distributed by tenant_id: {', '.join(DISTRIBUTED_TABLES)}")
        if found.unanswered:
            raise CommandError(
                f"Workers that do not answer: {', '.join(found.unanswered)}; start them and run "
                "the check again (a worker that is gone for good: citus_remove_node on the "
                "coordinator)"
            )
        if found.open_workers:
            raise CommandError(
                "Workers that still let the app role call more than Citus does: "
                f"{', '.join(found.open_workers)}; run manage.py citus_nodes with every worker"
            )
        self.stdout.write("workers: the app role calls only what Citus calls there")
        if found.unpatched:
            raise CommandError(
                "Workers whose Citus lets a statement take another transaction's id: "
                f"{', '.join(found.unpatched)}; build Citus with docs/citus-transaction-id.patch "
                "there (docs/deploy.md)"
            )
        self.stdout.write("workers: a transaction's id is taken only in a transaction block")
