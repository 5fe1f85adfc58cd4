"""`manage.py makesqlmigration`: migrations generated from divisions/database/ with literal SQL,
and `--check` failing while the source is ahead of the migrations."""

import ast
import importlib.util
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from divisions.database import generate, source, statements


def edited(replace):
    """The source's objects with one edit applied to its text."""
    text = source.text()
    changed = text.replace(*replace)
    assert changed != text
    return statements.objects(changed)


def variant(citus):
    """What the Citus variant states in place of, or beside, the plain source."""
    return source.citus_objects() if citus else {}


def test_the_migrations_hold_the_source():
    """What `make test`'s lint runs: nothing pending."""
    assert generate.pending()[0] == {}
    call_command("makesqlmigration", "--check")


def test_check_fails_when_the_source_changed_without_a_migration(monkeypatch):
    changed = edited(("RETURN visible;", "RETURN visible || 0::bigint;"))
    monkeypatch.setattr(source, "objects", lambda citus=False: changed | variant(citus))
    with pytest.raises(CommandError, match="makesqlmigration --name NAME") as refused:
        call_command("makesqlmigration", "--check")
    assert refused.value.returncode == 1


def test_a_changed_function_is_replaced_and_its_reverse_is_the_old_text():
    old = source.objects()
    new = edited(("RETURN visible;", "RETURN visible || 0::bigint;"))
    forward, reverse = generate.changes(old, new)
    assert forward == [new["function proone_visible_divisions()"]]
    assert reverse == [old["function proone_visible_divisions()"]]


def test_a_changed_policy_is_dropped_and_created_both_ways():
    old = source.objects()
    key = "policy proone_read on jobs_job"
    new = dict(old, **{key: old[key].replace("proone_admin_tenant()", "proone_acting_tenant()")})
    forward, reverse = generate.changes(old, new)
    assert forward == ["DROP POLICY proone_read ON jobs_job;", new[key]]
    assert reverse == ["DROP POLICY proone_read ON jobs_job;", old[key]]


def test_added_and_removed_objects_in_dependency_order():
    """A removed function goes after the policies that use it; its DROP names its input
    arguments without defaults; an added object's reverse drops it."""
    old = source.objects()
    (search,) = [k for k in old if k.startswith("function proone_title_search(")]
    new = {k: v for k, v in old.items() if k != search}
    new["function proone_extra(a bigint, b text)"] = (
        "CREATE OR REPLACE FUNCTION public.proone_extra(a bigint, b text DEFAULT 'x')\n"
        " RETURNS bigint LANGUAGE sql AS $$ SELECT a $$;"
    )
    forward, reverse = generate.changes(old, new)
    assert forward[0].startswith("DROP FUNCTION public.proone_title_search(term text, ")
    assert "DEFAULT" not in forward[0]
    assert forward[1] == new["function proone_extra(a bigint, b text)"]
    assert reverse == [
        "DROP FUNCTION public.proone_extra(a bigint, b text);",
        old[search],
    ]


def test_a_generated_migration_is_literal_sql_that_moves_the_state_both_ways(monkeypatch, tmp_path):
    old = source.objects()
    new = edited(("RETURN visible;", "RETURN visible || 0::bigint;"))
    monkeypatch.setattr(source, "objects", lambda citus=False: new | variant(citus))
    path = generate.write("visible_list", "The visible list, changed.", directory=tmp_path)
    text = path.read_text()
    assert path.name == "0001_visible_list.py"  # numbered after the directory's newest
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    assert imported == {"django.db", "divisions.database.operations"}
    assert ".replace(" not in text and "importlib" not in text
    spec = importlib.util.spec_from_file_location("generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state = generate.migrated_state()[0]
    forward = statements.apply(dict(state), module.FORWARD)
    assert generate.changes(forward, new) == ([], [])
    back = statements.apply(forward, module.REVERSE)
    assert generate.changes(back, old) == ([], [])
    # After the newest migrations of the apps whose migrations state the layer or whose tables
    # it names.
    assert module.Migration.dependencies == generate.migrated_state()[2]
    assert {app for app, _ in module.Migration.dependencies} == {
        "divisions",
        "api",
        "submits",
        "axes",
    }


def test_statements_split_past_quotes_and_comments():
    text = (
        "-- a comment; not a statement\n"
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $f$ SELECT 'a;b' $f$;\n"
        "SELECT 'it''s; one', E'\\'; still', \"odd;name\" /* a ; ' comment */;\n"
        "CREATE FUNCTION g(a int DEFAULT (1 + 2), b text = ';') RETURNS int LANGUAGE sql "
        "AS $b1$ SELECT 1; $b1$;\n"
        "COMMENT ON FUNCTION g(a int, b text) IS 'why; because';\n"
        "CREATE TABLE IF NOT EXISTS s.t (id int);\n"
        "CREATE POLICY p ON t USING (x = ';');"
    )
    parts = statements.split(text)
    assert len(parts) == 6
    assert statements.defines(parts[0]) == "function f()"
    assert statements.defines(parts[2]) == "function g(a int, b text)"
    assert statements.attaches_to(parts[3]) == "function g(a int, b text)"
    assert statements.defines(parts[4]) == "table s.t"
    assert statements.defines(parts[5]) == "policy p on t"


def test_a_migration_that_alters_an_object_in_place_is_refused():
    """Its state could not be followed: the generator would write the wrong next migration."""
    with pytest.raises(ValueError, match="state the object whole"):
        statements.apply({}, "ALTER FUNCTION public.proone_principal() SECURITY INVOKER;")


def test_overloads_are_objects_of_their_own():
    text = (
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;\n"
        "CREATE FUNCTION f(a text) RETURNS text LANGUAGE sql AS $$ SELECT a $$;"
    )
    assert list(statements.objects(text)) == ["function f(a int)", "function f(a text)"]


def test_a_function_whose_result_type_changes_is_dropped_and_created():
    """CREATE OR REPLACE cannot change a result type: both ways drop, then create."""
    key = "function f(a int)"
    old = {key: "CREATE OR REPLACE FUNCTION public.f(a int) RETURNS int LANGUAGE sql AS $$ 1 $$;"}
    new = {key: old[key].replace("RETURNS int", "RETURNS bigint")}
    forward, reverse = generate.changes(old, new)
    assert forward == ["DROP FUNCTION public.f(a int);", new[key]]
    assert reverse == ["DROP FUNCTION public.f(a int);", old[key]]


def test_a_table_of_the_source_is_never_dropped_by_a_generated_migration():
    old = source.objects()
    new = {k: v for k, v in old.items() if k != "table proone_rls.signing_key"}
    with pytest.raises(ValueError, match="its data must be kept"):
        generate.changes(old, new)


def test_a_bad_migration_name_is_one_line_and_writes_nothing(monkeypatch):
    changed = edited(("RETURN visible;", "RETURN visible || 0::bigint;"))
    monkeypatch.setattr(source, "objects", lambda citus=False: changed | variant(citus))
    migrations = Path(generate.__file__).resolve().parents[1] / "migrations"
    before = sorted(migrations.glob("0*.py"))
    with pytest.raises(CommandError, match="lower-case letters, digits and underscores"):
        call_command("makesqlmigration", "--name", "Visible List")
    assert sorted(migrations.glob("0*.py")) == before


def test_each_variant_gets_its_own_changes(monkeypatch, tmp_path):
    """A change to an object the Citus variant states differently runs on one server only
    (SingleNodeSQL); a change to the variant, on a Citus cluster only (CitusSQL); the rest on
    both (PostgresSQL)."""
    plain, citus = source.objects(), source.citus_objects()
    policy = "policy proone_read on jobs_job"
    writes = "function proone_citus_writes(tenant bigint)"
    common = "function proone_visible_divisions()"
    changed = dict(plain)
    changed[policy] = plain[policy].replace("proone_admin_tenant()", "proone_acting_tenant()")
    changed[common] = plain[common].replace("RETURN visible;", "RETURN visible || 0::bigint;")
    changed_citus = dict(
        citus, **{writes: citus[writes].replace("claim[1] = 's'", "'s' = claim[1]")}
    )
    assert changed != plain and changed_citus != citus
    monkeypatch.setattr(source, "citus_objects", lambda: changed_citus)
    monkeypatch.setattr(
        source, "objects", lambda citus=False: changed | (changed_citus if citus else {})
    )
    found, _ = generate.pending()
    assert found["PostgresSQL"][0] == [changed[common]]
    assert found["SingleNodeSQL"][0] == ["DROP POLICY proone_read ON jobs_job;", changed[policy]]
    assert found["CitusSQL"][0] == [changed_citus[writes]]
    path = generate.write("both", "Both variants.", directory=tmp_path)
    text = path.read_text()
    for operation in (
        "PostgresSQL(sql=FORWARD",
        "SingleNodeSQL(sql=SINGLE_NODE_FORWARD",
        "CitusSQL(sql=CITUS_FORWARD",
    ):
        assert operation in text
