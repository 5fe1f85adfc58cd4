"""Migrations from the source: what changed since the migrated state, as literal SQL."""

import re
from pathlib import Path

from django.apps import apps
from django.db import migrations
from django.db.migrations.loader import MigrationLoader

from . import source, statements
from .operations import SQLiteSQL

# Generated migrations go to the first app; the state is what the migrations of these apps
# leave (api's tokens and the spent submit keys come with their tables, after the rest of the
# layer), and a generated migration depends on each one's latest, so the tables exist first.
APP_LABEL = "divisions"
APP_LABELS = ("divisions", "api", "submits")
# Apps whose tables the source names but whose migrations state none of it (django-axes' login
# history): generated migrations come after their newest migrations too.
TABLE_APPS = ("axes",)

# Creation order; removals run backwards.
KINDS = ("schema", "table", "function", "rls", "force rls", "policy", "trigger")


def kind(key):
    """The kind of object a key names."""
    return "force rls" if key.startswith("force rls ") else key.split(" ", 1)[0]


def migrated_state():
    """({key: SQL} that the apps' migrations leave on an empty database (squashed as applied),
    the newest migrations of APP_LABELS and TABLE_APPS: what a generated migration follows)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaves = [leaf for app in APP_LABELS + TABLE_APPS for leaf in graph.leaf_nodes(app)]
    plan = []
    for leaf in leaves:
        plan.extend(node for node in graph.forwards_plan(leaf) if node not in plan)
    state = {}
    for node in plan:
        for operation in graph.nodes[node].operations:
            if isinstance(operation, migrations.RunSQL) and not isinstance(operation, SQLiteSQL):
                statements.apply(state, _sql_text(operation.sql))
    return state, leaves


def _sql_text(sql):
    if isinstance(sql, str):
        return sql
    return ";\n".join(part if isinstance(part, str) else part[0] for part in sql)


def normal(sql):
    """SQL without comment lines before its statements: what the database keeps."""
    return "\n".join(statements.code(part) for part in statements.split(sql))


def drop(key):
    """The statement that removes the object `key` names."""
    what = kind(key)
    name = key.removeprefix(what + " ")
    if what == "function":
        bare = name.split("(", 1)[0]
        return f"DROP FUNCTION {name if '.' in bare else 'public.' + name};"
    if what in ("policy", "trigger"):
        return f"DROP {what.upper()} {name.replace(' on ', ' ON ')};"
    if what == "rls":
        return f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY;"
    if what == "force rls":
        return f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY;"
    return f"DROP {what.upper()} {name};"


RETURNS = re.compile(
    r"\bRETURNS\s+(.+?)\s+(?:LANGUAGE|AS|IMMUTABLE|STABLE|VOLATILE|SECURITY|SET|STRICT"
    r"|CALLED|PARALLEL|COST|ROWS|WINDOW|LEAKPROOF|NOT|TRANSFORM|SUPPORT)\b",
    re.I | re.S,
)


def _result(sql):
    found = RETURNS.search(statements.code(sql))
    return " ".join(found.group(1).split()).lower() if found else None


def _replaced_whole(key, old, new):
    """Whether a change to `key` needs DROP and CREATE: always for a policy or a trigger, for
    a function when its result type changes (CREATE OR REPLACE cannot change it)."""
    if kind(key) in ("policy", "trigger"):
        return True
    return kind(key) == "function" and _result(old) != _result(new)


def changes(old, new):
    """(forward, reverse): the SQL statements that turn `old` into `new` and back."""
    forward, reverse = [], []
    created = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    changed = [k for k in new if k in old and normal(old[k]) != normal(new[k])]
    for key in changed + removed:
        if kind(key) in ("table", "schema"):
            raise ValueError(
                f"{key} changed or went: a table or schema of the source changes only in a "
                "migration written for it (its data must be kept)."
            )
    whole = [k for k in changed if _replaced_whole(k, old[k], new[k])]
    for what in reversed(KINDS):
        for key in reversed(removed):
            if kind(key) == what:
                forward.append(drop(key))
        for key in reversed(whole):
            if kind(key) == what:
                forward.append(drop(key))
                reverse.append(drop(key))
        for key in reversed(created):
            if kind(key) == what:
                reverse.append(drop(key))
    for what in KINDS:
        for key in new:
            if kind(key) == what and (key in created or key in changed):
                forward.append(new[key])
        for key in old:
            if kind(key) == what and (key in removed or key in changed):
                reverse.append(old[key])
    return forward, reverse


def pending():
    """(forward, reverse, leaves) between the migrated state and the source."""
    state, leaves = migrated_state()
    forward, reverse = changes(state, source.objects())
    return forward, reverse, leaves


TEMPLATE = '''"""{description}

Generated by `manage.py makesqlmigration` from divisions/database/: the forward SQL brings the
database layer to the source, the reverse SQL back to the state before it.
"""

from django.db import migrations

from divisions.database.operations import PostgresSQL

FORWARD = r"""
{forward}
"""

REVERSE = r"""
{reverse}
"""


class Migration(migrations.Migration):
    dependencies = [
{dependencies}
    ]

    operations = [PostgresSQL(sql=FORWARD, reverse_sql=REVERSE)]
'''


def next_number(directory):
    """The number after the highest one (a squash counts as the last it replaces)."""
    numbers = [0]
    for path in Path(directory).glob("[0-9]*.py"):
        found = re.findall(r"(?:^|_squashed_)(\d{4})", path.stem)
        numbers.extend(int(n) for n in found)
    return max(numbers) + 1


def write(name, description, directory=None):
    """Write the migration for the pending changes; its path, or None when there are none."""
    forward, reverse, leaves = pending()
    if not forward:
        return None
    directory = Path(directory or Path(apps.get_app_config(APP_LABEL).path) / "migrations")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError("A migration name is lower-case letters, digits and underscores.")
    if any('"""' in sql for sql in forward + reverse):
        raise ValueError('The source holds """, which a generated migration cannot quote.')
    path = directory / f"{next_number(directory):04d}_{name}.py"
    path.write_text(
        TEMPLATE.format(
            description=description,
            forward="\n\n".join(forward),
            reverse="\n\n".join(reverse),
            dependencies="\n".join(f'        ("{app}", "{node}"),' for app, node in leaves),
        )
    )
    return path
