"""Lint rules: each operation kind gets its stable code against the state before it."""

import pytest
from django.db import migrations, models
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ModelState, ProjectState

from proone.gate.lint import NEEDS_ACK, RULES, _lint_operation, codes_needing_ack


def state():
    """A project state holding one existing table, shop.Item."""
    project = ProjectState()
    project.add_model(
        ModelState(
            "shop",
            "Item",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("name", models.CharField(max_length=100)),
                ("note", models.CharField(max_length=50, null=True)),
                ("price", models.DecimalField(max_digits=8, decimal_places=2)),
                ("code", models.CharField(max_length=10)),
                ("qty", models.IntegerField()),
            ],
        )
    )
    return project


def codes(operation, vendor="sqlite", created=()):
    return [f.code for f in _lint_operation(operation, "shop", state(), set(created), vendor)]


@pytest.mark.parametrize(
    "operation, expected",
    [
        (migrations.DeleteModel("Item"), ["MG101"]),
        (migrations.RemoveField("item", "note"), ["MG102"]),
        (migrations.RenameModel("Item", "Thing"), ["MG103"]),
        (migrations.AlterModelTable("item", "shop_things"), ["MG103"]),
        (migrations.RenameField("item", "name", "title"), ["MG104"]),
        (migrations.AlterField("item", "name", models.CharField(max_length=20)), ["MG105"]),
        (migrations.AlterField("item", "name", models.IntegerField()), ["MG115"]),
        (migrations.AlterField("item", "qty", models.BigIntegerField()), ["MG114"]),
        (migrations.AlterField("item", "qty", models.SmallIntegerField()), ["MG115"]),
        (migrations.AddField("item", "size", models.IntegerField()), ["MG113"]),
        (
            migrations.AddField(
                "item", "size", models.IntegerField(default=0), preserve_default=False
            ),
            ["MG113"],
        ),
        (migrations.AddField("item", "colour", models.CharField(default="red")), ["MG113"]),
        (
            migrations.AlterField(
                "item", "price", models.DecimalField(max_digits=6, decimal_places=2)
            ),
            ["MG105"],
        ),
        (migrations.AlterField("item", "note", models.CharField(max_length=50)), ["MG106"]),
        (
            migrations.AlterField("item", "note", models.CharField(max_length=50, default="")),
            ["MG106"],
        ),
        (
            migrations.AlterField("item", "code", models.CharField(max_length=10, unique=True)),
            ["MG107"],
        ),
        (
            migrations.AddConstraint(
                "item", models.UniqueConstraint(fields=["code"], name="item_code_unique")
            ),
            ["MG107"],
        ),
        (migrations.AlterUniqueTogether("item", {("name", "code")}), ["MG107"]),
        (migrations.RunSQL("UPDATE shop_item SET note = ''"), ["MG109", "MG111"]),
        (migrations.RunSQL("SELECT 1", reverse_sql=migrations.RunSQL.noop), ["MG109"]),
        (migrations.RunPython(print), ["MG110", "MG111"]),
        (migrations.RunPython(print, migrations.RunPython.noop), ["MG110"]),
        (
            migrations.SeparateDatabaseAndState(
                database_operations=[migrations.RemoveField("item", "note")]
            ),
            ["MG102"],
        ),
    ],
)
def test_each_risky_operation_has_its_code(operation, expected):
    assert codes(operation) == expected


@pytest.mark.parametrize(
    "operation",
    [
        migrations.AddField("item", "colour", models.CharField(max_length=20, db_default="red")),
        migrations.AddField("item", "size", models.IntegerField(null=True)),
        migrations.AlterField("item", "name", models.CharField(max_length=200)),
        migrations.AlterField("item", "note", models.CharField(max_length=50, null=True)),
        migrations.AlterModelOptions("item", {"ordering": ["name"]}),
        migrations.CreateModel("Other", [("id", models.BigAutoField(primary_key=True))]),
    ],
)
def test_safe_operations_have_no_findings(operation):
    assert codes(operation) == []


def test_index_without_concurrently_is_flagged_on_postgresql_only():
    add_index = migrations.AddIndex("item", models.Index(fields=["name"], name="item_name_idx"))
    assert codes(add_index, vendor="postgresql") == ["MG108"]
    assert codes(add_index, vendor="sqlite") == []
    db_index = migrations.AddField(
        "item", "sku", models.CharField(max_length=9, db_index=True, null=True)
    )
    assert codes(db_index, vendor="postgresql") == ["MG108"]


def test_a_concurrent_index_is_not_flagged_nor_a_subclass_of_it():
    """jobs 0004 builds concurrently through a subclass that falls back on SQLite."""
    from django.contrib.postgres.operations import AddIndexConcurrently

    class ConcurrentOnPostgres(AddIndexConcurrently):
        pass

    index = models.Index(fields=["name"], name="item_name_idx")
    assert codes(AddIndexConcurrently("item", index), vendor="postgresql") == []
    assert codes(ConcurrentOnPostgres("item", index), vendor="postgresql") == []


def test_constraints_on_a_table_created_in_the_same_migration_are_not_flagged():
    unique = migrations.AddField(
        "item", "sku", models.CharField(max_length=9, unique=True, null=True)
    )
    assert codes(unique) == ["MG107"]
    assert codes(unique, created={"item"}) == []


def test_unknown_operations_are_unanalysable():
    class Custom(Operation):
        def state_forwards(self, app_label, state):
            pass

    assert codes(Custom()) == ["MG112"]


def test_warnings_need_no_acknowledgement_and_the_rest_do():
    assert {code for code, (kind, _) in RULES.items() if kind == "warning"} == {"MG108"}
    assert codes_needing_ack(
        _lint_operation(migrations.RunPython(print), "shop", state(), set(), "sqlite")
    ) == ["MG110", "MG111"]
    assert "MG107" in NEEDS_ACK and "MG108" not in NEEDS_ACK


def test_index_and_unique_on_a_table_an_earlier_step_of_the_plan_creates_are_not_flagged():
    """guardian.0001 creates its tables, guardian.0002 indexes them: no lock on rows to take."""
    from django.db.migrations.loader import MigrationLoader

    from proone.gate.lint import created_models, lint_migration

    loader = MigrationLoader(None, ignore_no_migrations=True)
    index = loader.get_migration("guardian", "0002_generic_permissions_index")
    assert "MG108" in [f.code for f in lint_migration(loader, index, "postgresql")]
    planned = frozenset(created_models(loader.get_migration("guardian", "0001_initial")))
    assert [f.code for f in lint_migration(loader, index, "postgresql", planned)] == []

    add_index = migrations.AddIndex("item", models.Index(fields=["name"], name="item_name_idx"))
    found = _lint_operation(add_index, "shop", state(), set(), "postgresql", {("shop", "item")})
    assert found == []
    # A table of the same name in another app is still an existing table.
    found = _lint_operation(add_index, "shop", state(), set(), "postgresql", {("other", "item")})
    assert [f.code for f in found] == ["MG108"]


@pytest.mark.parametrize(
    "operation, column",
    [
        (migrations.AddField("item", "password", models.CharField(null=True)), "item.password"),
        (migrations.AddField("item", "apiKey", models.TextField(null=True)), "item.apiKey"),
        (
            migrations.AddField("item", "card_number", models.CharField(null=True)),
            "item.card_number",
        ),
        (
            migrations.CreateModel(
                "Wallet",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("Private_Key", models.BinaryField()),
                ],
            ),
            "Wallet.Private_Key",
        ),
    ],
)
def test_a_new_plain_text_column_named_for_a_secret_needs_acknowledgement(operation, column):
    """A reviewer's checklist asks whether a new column stores a secret readably: whoever reads
    the table or a backup of it reads the secret. What stops it: MG118 until acknowledged."""
    [finding] = _lint_operation(operation, "shop", state(), set(), "sqlite")
    assert finding.code == "MG118" and finding.needs_ack
    assert column in finding.message and "store a hash or encrypt it" in finding.message


@pytest.mark.parametrize(
    "operation",
    [
        migrations.AddField("item", "password_hash", models.CharField(null=True)),
        migrations.AddField("item", "token_sha256", models.CharField(null=True)),
        migrations.AddField("item", "key_digest", models.CharField(null=True)),
        migrations.AddField("item", "token_count", models.IntegerField(null=True)),
        migrations.AddField("item", "passenger", models.CharField(null=True)),
        migrations.AddField("item", "company", models.CharField(null=True)),
    ],
)
def test_a_hashed_or_merely_similar_column_is_not_a_secret(operation):
    assert codes(operation) == []


TENANT = ("tenant", models.ForeignKey("divisions.Tenant", models.CASCADE))


@pytest.mark.parametrize(
    "app_label, fields, tables",
    [
        ("jobs", [], ["jobs_ledger"]),  # an app of GATE_TENANT_APPS
        ("shop", [TENANT], ["shop_ledger"]),  # another app's model with a tenant relation
        (
            "jobs",
            [("viewers", models.ManyToManyField("divisions.User"))],
            ["jobs_ledger", "jobs_ledger_viewers"],
        ),
    ],
)
def test_a_new_tenant_table_without_row_level_security_needs_acknowledgement(
    app_label, fields, tables
):
    """A table of tenants' rows that the database source leaves without row-level security
    shows every tenant's rows to any query the ORM's scoping misses. What stops it: MG119
    until the source states its policies (or a reviewer acknowledges)."""
    create = migrations.CreateModel(
        "Ledger", [("id", models.BigAutoField(primary_key=True)), *fields]
    )
    found = _lint_operation(create, app_label, state(), set(), "sqlite")
    assert [f.code for f in found] == ["MG119"] * len(tables)
    assert all(f.needs_ack for f in found)
    assert [table in f.message for f, table in zip(found, tables, strict=True)] == [True] * len(
        tables
    )


def test_a_new_tenant_table_under_row_level_security_is_not_a_finding():
    """jobs_jobnote is under row-level security in divisions/database/policies.sql."""
    create = migrations.CreateModel(
        "JobNote", [("id", models.BigAutoField(primary_key=True)), TENANT]
    )
    assert _lint_operation(create, "jobs", state(), set(), "sqlite") == []
    # A table outside the tenant-owned apps, without a tenant relation, holds no tenant's rows.
    other = migrations.CreateModel("Ledger", [("id", models.BigAutoField(primary_key=True))])
    assert _lint_operation(other, "shop", state(), set(), "sqlite") == []


def test_the_hashed_password_of_a_user_model_is_not_a_secret_but_a_new_token_is():
    """AbstractBaseUser.password holds make_password()'s output, never the password: Django's
    own users and the project's are not findings; a plain api_token on the same model is."""
    password = ("password", models.CharField(max_length=128, verbose_name="password"))
    for app_label, model in (("divisions", "User"), ("auth", "User")):
        create = migrations.CreateModel(
            model, [("id", models.AutoField(primary_key=True)), password]
        )
        assert _lint_operation(create, app_label, ProjectState(), set(), "sqlite") == []
    token = migrations.AddField("user", "api_token", models.CharField(max_length=64, null=True))
    found = _lint_operation(token, "divisions", ProjectState(), set(), "sqlite")
    assert [f.code for f in found] == ["MG118"] and "user.api_token" in found[0].message
    # A model that does not store hashes there is asked, whatever its name.
    other = migrations.AddField("item", "password", models.CharField(max_length=128, null=True))
    assert codes(other) == ["MG118"]


def project_graph():
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(None)  # the files alone, as an offline review reads them


def test_released_migrations_are_not_asked_the_checklist(monkeypatch):
    """The project's released files (the bootstrap manifest, and what its squashed files
    replace) were reviewed at their release: no MG118/MG119; the same file with other content
    is asked again."""
    from proone.gate import bootstrap, checklist
    from proone.gate.lint import lint_migration

    loader = project_graph()
    for migration in loader.graph.nodes.values():
        found = lint_migration(loader, migration, "sqlite")
        assert not [f for f in found if f.code in ("MG118", "MG119")], migration
    squashed = loader.disk_migrations[("divisions", "0001_squashed_0002_organisation")]
    assert bootstrap.released(loader, loader.disk_migrations[("divisions", "0001_initial")])
    assert not bootstrap.released(
        loader, loader.disk_migrations[("divisions", "0016_unused_functions_removed")]
    )
    # Without the hashed-field rule, only the release keeps divisions' password column quiet.
    monkeypatch.setattr(checklist, "HASHED_FIELDS", {})
    assert "MG118" not in [f.code for f in lint_migration(loader, squashed, "sqlite")]
    monkeypatch.setitem(
        bootstrap.PROJECT_MIGRATIONS, "divisions.0001_squashed_0002_organisation", "0" * 64
    )
    assert "MG118" in [f.code for f in lint_migration(loader, squashed, "sqlite")]
