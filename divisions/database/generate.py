"""Migrations from the source: what changed since the migrated state, as literal SQL."""

import re
from pathlib import Path

from django.apps import apps
from django.db import migrations
from django.db.migrations.loader import MigrationLoader

from . import source, statements
from .operations import CitusSQL, SingleNodeSQL, SQLiteSQL

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
    """({key: SQL} that the apps' migrations leave on an empty single node, the same on a
    Citus cluster, the newest migrations of APP_LABELS and TABLE_APPS: what a generated
    migration follows). Squashed migrations count as applied."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaves = [leaf for app in APP_LABELS + TABLE_APPS for leaf in graph.leaf_nodes(app)]
    plan = []
    for leaf in leaves:
        plan.extend(node for node in graph.forwards_plan(leaf) if node not in plan)
    single, citus = {}, {}
    for node in plan:
        for operation in graph.nodes[node].operations:
            if not isinstance(operation, migrations.RunSQL) or isinstance(operation, SQLiteSQL):
                continue
            if not isinstance(operation, CitusSQL):
                statements.apply(single, _sql_text(operation.sql))
            if not isinstance(operation, SingleNodeSQL):
                statements.apply(citus, _sql_text(operation.sql))
    return single, citus, leaves


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


def _only(state, keys, inside=True):
    return {key: sql for key, sql in state.items() if (key in keys) == inside}


def pending():
    """({operation: (forward, reverse)}, leaves) between the migrated state and the source.
    What the Citus variant states (or stated) differently goes to SingleNodeSQL and CitusSQL,
    the rest to PostgresSQL; an operation with nothing to do is left out."""
    single, citus, leaves = migrated_state()
    target_single, target_citus = source.objects(), source.objects(citus=True)
    split = set(source.citus_objects()) | {
        key for key in single.keys() | citus.keys() if single.get(key) != citus.get(key)
    }
    found = {
        "PostgresSQL": changes(_only(single, split, False), _only(target_single, split, False)),
        "SingleNodeSQL": changes(_only(single, split), _only(target_single, split)),
        "CitusSQL": changes(_only(citus, split), _only(target_citus, split)),
    }
    return {name: sql for name, sql in found.items() if sql[0]}, leaves


TEMPLATE = '''"""{description}

Generated by `manage.py makesqlmigration` from divisions/database/: the forward SQL brings the
database layer to the source, the reverse SQL back to the state before it.
"""

from django.db import migrations

from divisions.database.operations import {names}
{texts}

class Migration(migrations.Migration):
    dependencies = [
{dependencies}
    ]

    operations = [
{operations}
    ]
'''

# Where each operation runs (operations.py), and the prefix of its SQL's names.
WHERE = {
    "PostgresSQL": ("every PostgreSQL, one node or a Citus cluster", ""),
    "SingleNodeSQL": ("PostgreSQL without Citus", "SINGLE_NODE_"),
    "CitusSQL": ("a Citus cluster", "CITUS_"),
}


def next_number(directory):
    """The number after the highest one (a squash counts as the last it replaces)."""
    numbers = [0]
    for path in Path(directory).glob("[0-9]*.py"):
        found = re.findall(r"(?:^|_squashed_)(\d{4})", path.stem)
        numbers.extend(int(n) for n in found)
    return max(numbers) + 1


def _text(name, sql):
    return f'{name} = r"""\n' + "\n\n".join(sql) + '\n"""\n'


def write(name, description, directory=None):
    """Write the migration for the pending changes; its path, or None when there are none."""
    found, leaves = pending()
    if not found:
        return None
    directory = Path(directory or Path(apps.get_app_config(APP_LABEL).path) / "migrations")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError("A migration name is lower-case letters, digits and underscores.")
    if any('"""' in sql for pair in found.values() for part in pair for sql in part):
        raise ValueError('The source holds """, which a generated migration cannot quote.')
    texts, operations = [], []
    for operation, (forward, reverse) in found.items():
        where, prefix = WHERE[operation]
        texts.append(
            f"\n# On {where}.\n"
            + _text(f"{prefix}FORWARD", forward)
            + "\n"
            + _text(f"{prefix}REVERSE", reverse)
        )
        operations.append(f"        {operation}(sql={prefix}FORWARD, reverse_sql={prefix}REVERSE),")
    path = directory / f"{next_number(directory):04d}_{name}.py"
    path.write_text(
        TEMPLATE.format(
            description=description,
            names=", ".join(sorted(found)),
            texts="".join(texts),
            dependencies="\n".join(f'        ("{app}", "{node}"),' for app, node in leaves),
            operations="\n".join(operations),
        )
    )
    return path
