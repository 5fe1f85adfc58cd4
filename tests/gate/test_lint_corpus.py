"""The lint corpus: one risky migration per case, each flagged; the safe ones are not.

The same migrations django-migration-linter and squawk are known to catch. On PostgreSQL each
also goes through squawk over its SQL (what `sqlmigrate` prints), whose rule names must appear
beside ours.
"""

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import connection, migrations, models

from proone.gate import lint as gate_lint
from proone.gate.lint import SQUAWK_PREFIX, codes_needing_ack, lint_migration

from .test_lint import state


class Loader:
    """What lint_migration needs of a MigrationLoader: the state before, and the SQL."""

    connection = connection

    def project_state(self, key, at_end=False):
        return state()

    def collect_sql(self, plan):
        statements = []
        for migration, _ in plan:
            before = state()
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                migration.apply(before, editor, collect_sql=True)
            statements += editor.collected_sql
        return statements


def migration(*operations, atomic=True):
    """A migration of the corpus app `shop`, whose table shop_item already exists."""
    made = migrations.Migration("0002_change", "shop")
    made.operations = list(operations)
    made.atomic = atomic
    return made


def item_field(**kwargs):
    return models.IntegerField(**kwargs)


# name: (migration, our codes, squawk rules expected on PostgreSQL)
RISKY = {
    "add NOT NULL column, no default": (
        migration(migrations.AddField("item", "size", item_field())),
        {"MG113"},
        {"adding-required-field"},
    ),
    "add NOT NULL column, one-off default (preserve_default=False)": (
        migration(
            migrations.AddField("item", "size", item_field(default=0), preserve_default=False)
        ),
        {"MG113"},
        set(),
    ),
    "add NOT NULL column, Python default only": (
        migration(migrations.AddField("item", "size", item_field(default=0))),
        {"MG113"},
        set(),
    ),
    "add unique column to an existing table": (
        migration(migrations.AddField("item", "sku", item_field(null=True, unique=True))),
        {"MG107"},
        {"disallowed-unique-constraint"},
    ),
    "unique constraint on an existing table": (
        migration(
            migrations.AddConstraint(
                "item", models.UniqueConstraint(fields=["code"], name="item_code_unique")
            )
        ),
        {"MG107"},
        {"disallowed-unique-constraint"},
    ),
    "NOT NULL on an existing column": (
        migration(migrations.AlterField("item", "note", models.CharField(max_length=50))),
        {"MG106"},
        {"adding-not-nullable-field"},
    ),
    "rename a column": (
        migration(migrations.RenameField("item", "name", "title")),
        {"MG104"},
        {"renaming-column"},
    ),
    "rename a table": (
        migration(migrations.RenameModel("Item", "Thing")),
        {"MG103"},
        {"renaming-table"},
    ),
    "drop a column": (
        migration(migrations.RemoveField("item", "note")),
        {"MG102"},
        {"ban-drop-column"},
    ),
    "drop a table": (
        migration(migrations.DeleteModel("Item")),
        {"MG101"},
        {"ban-drop-table"},
    ),
    "widen integer to bigint": (
        migration(migrations.AlterField("item", "qty", models.BigIntegerField())),
        {"MG114"},
        {"changing-column-type"},
    ),
    "change a column's type": (
        migration(migrations.AlterField("item", "code", models.IntegerField())),
        {"MG115"},
        {"changing-column-type"},
    ),
    "narrow a column": (
        migration(migrations.AlterField("item", "name", models.CharField(max_length=20))),
        {"MG105"},
        {"changing-column-type"},
    ),
    "raw SQL without a reverse": (
        migration(migrations.RunSQL("UPDATE shop_item SET note = ''")),
        {"MG109", "MG111"},
        set(),
    ),
    "Python without a reverse": (
        migration(migrations.RunPython(print)),
        {"MG110", "MG111"},
        set(),
    ),
}

SAFE = {
    "index built concurrently": migration(
        AddIndexConcurrently("item", models.Index(fields=["name"], name="item_name_idx")),
        atomic=False,
    ),
    "nullable column": migration(migrations.AddField("item", "size", item_field(null=True))),
    "column with a database default": migration(
        migrations.AddField("item", "size", item_field(db_default=0))
    ),
    "new table": migration(
        migrations.CreateModel("Other", [("id", models.BigAutoField(primary_key=True))])
    ),
}


def lint(case):
    vendor = connection.vendor
    return lint_migration(Loader(), case, vendor)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(RISKY))
def test_every_risky_migration_is_flagged_and_needs_acknowledgement(name):
    case, ours, squawk = RISKY[name]
    findings = lint(case)
    codes = {f.code for f in findings}
    assert ours <= codes, findings
    assert set(codes_needing_ack(findings)) & ours, findings
    found_squawk = {code[len(SQUAWK_PREFIX) :] for code in codes if code.startswith(SQUAWK_PREFIX)}
    if connection.vendor == "postgresql":
        assert squawk <= found_squawk, findings
        assert "MG116" not in codes, findings  # squawk ran
    else:
        assert not found_squawk


# Outside a transaction: AddIndexConcurrently refuses to produce SQL inside one.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(SAFE))
def test_safe_migrations_are_not_flagged(name):
    assert lint(SAFE[name]) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "name, built, dropped, codes",
    [
        ("0004_sort_indexes", 2, 0, []),
        ("0005_division_covering_index", 1, 1, ["MG117"]),
        ("0006_division_title_index", 1, 0, ["MG117"]),
    ],
)
def test_the_job_index_migrations_run_concurrently(name, built, dropped, codes):
    """jobs 0004, 0005 and 0006 (the history a database made before the squash still applies)
    index the job table, large and written to: on PostgreSQL with CREATE INDEX CONCURRENTLY and
    DROP INDEX CONCURRENTLY (no MG108, nothing for squawk), outside a transaction; plainly on
    SQLite. 0005 and 0006 borrow 0004's operation class by importing it: MG117."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, replace_migrations=False)
    migration = loader.get_migration("jobs", name)
    found = lint_migration(loader, migration, connection.vendor)
    assert [finding.code for finding in found] == codes
    assert migration.atomic is False
    sql = loader.collect_sql([(migration, False)])
    creates = [s for s in sql if "CREATE INDEX" in s]
    drops = [s for s in sql if "DROP INDEX" in s]
    assert (len(creates), len(drops)) == (built, dropped)
    if connection.vendor == "postgresql":
        assert all("INDEX CONCURRENTLY" in statement for statement in creates + drops), sql


def test_the_squashed_migrations_import_no_other_migration():
    """The squashed and generated migrations carry their SQL as literals (no MG117)."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None)
    history = MigrationLoader(None, replace_migrations=False)
    for migration in (
        loader.get_migration("divisions", "0006_squashed_0015_database_layer"),
        loader.get_migration("api", "0001_squashed_0002_tokens"),
        history.get_migration("divisions", "0016_unused_functions_removed"),
    ):
        assert gate_lint.migration_imports(migration) == []
    old = history.get_migration("divisions", "0015_title_search_merge_planned_once")
    assert {finding.code for finding in gate_lint.migration_imports(old)} == {"MG117"}
