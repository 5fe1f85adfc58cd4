"""The database layer's source: the `.sql` files beside this module, in the order they apply."""

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


def text():
    """The whole source as one SQL script."""
    return "\n\n".join((DIRECTORY / name).read_text() for name in FILES)


def objects():
    """{key: SQL} of every object the source states, in the order it states them."""
    return statements.objects(text())


def row_security_tables():
    """The tables the source puts under row-level security (settings.GATE_ROW_SECURITY)."""
    return frozenset(key.removeprefix("rls ") for key in objects() if key.startswith("rls "))
