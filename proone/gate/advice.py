"""What commands tell an operator about unapplied migrations, where plain `migrate` refuses."""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


class GateMigrationsAdvice:
    """A command mixin: the unapplied-migrations notice names migrate_secure when protected."""

    def check_migrations(self):
        if not getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False):
            return super().check_migrations()
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            apps = ", ".join(sorted({migration.app_label for migration, _ in pending}))
            self.stdout.write(
                self.style.NOTICE(
                    f"\nYou have {len(pending)} unapplied migration(s) ({apps}). Have them "
                    "signed off and apply them with `manage.py migrate_secure` (plain `migrate` "
                    "is disabled here); `manage.py migrate_secure --plan` shows what is "
                    "missing. See docs/migrations.md."
                )
            )
