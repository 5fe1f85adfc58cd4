"""The database layer's source: the `.sql` files beside this module, in the order they apply,
and its Citus variant: the same objects, with those of CITUS_FILES in place of the plain ones
of the same name and after the rest (docs/scaling.md, "Citus")."""

from pathlib import Path

from . import statements

DIRECTORY = Path(__file__).resolve().parent

# Each file may use what the files before it define.
FILES = (
    "principal.sql",
    "rule.sql",
    "guards.sql",
    "title_search.sql",
    "login_history.sql",
    "policies.sql",
    "history.sql",
    "tokens.sql",
    "submits.sql",
)

# What a Citus cluster states differently or in addition.
CITUS_FILES = ("citus.sql",)


def text(files=FILES):
    """The whole source (or these of its files) as one SQL script."""
    return "\n\n".join((DIRECTORY / name).read_text() for name in files)


def objects(citus=False):
    """{key: SQL} of every object the source states, in the order it states them; with
    `citus`, of its Citus variant."""
    plain = statements.objects(text())
    if not citus:
        return plain
    return plain | citus_objects()


def citus_objects():
    """{key: SQL} of what the Citus variant states in place of, or beside, the plain source."""
    return statements.objects(text(CITUS_FILES))


def row_security_tables():
    """The tables the source puts under row-level security (settings.GATE_ROW_SECURITY)."""
    return frozenset(key.removeprefix("rls ") for key in objects() if key.startswith("rls "))
