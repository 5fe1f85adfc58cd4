"""The README's map, the layers picture and the security notes name what exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def section(path, heading):
    """The text under a Markdown heading, up to the next heading of any level."""
    text = (ROOT / path).read_text()
    return text.split(heading, 1)[1].split("\n#", 1)[0]


def test_the_readme_map_is_short_and_points_at_the_source():
    """A front door: at most a dozen rows, each naming the source, none a migration (that the
    files exist is tests/test_docs_names.py's)."""
    table = section("README.md", "## Where things live")
    rows = [line for line in table.splitlines() if line.startswith("| ")][2:]
    assert 6 <= len(rows) <= 12
    paths = [p for p in re.findall(r"`([\w./]+)`", table) if "/" in p]
    assert len(paths) >= len(rows)
    assert [p for p in paths if "migrations" in p] == []


def test_the_readme_is_a_front_door():
    """The two commands, the rule, the request path and where to go next, in about 100 lines."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 120
    for heading in ("## The two commands", "## The rule", "## A request", "## Where to go next"):
        assert heading in readme
    assert "make run" in readme and "make test" in readme
    assert "has no row-level security" in readme


def test_the_layers_picture_names_existing_files():
    picture = section("docs/architecture.md", "## The layers").split("```")[1]
    missing, folder = [], None
    for line in picture.splitlines():
        start = re.match(r"\s*([\w/]+/)(?:\s|$)", line)
        if start:
            folder = start.group(1)
        for name in re.findall(r"(?<![\w/])([\w/]+\.py)\b", line):
            path = name if "/" in name else f"{folder}{name}"
            if not (ROOT / path).exists():
                missing.append(path)
    assert missing == []


def test_the_security_notes_cover_every_table_under_row_level_security():
    from divisions.rls import (
        GUARDED_TABLES,
        OWN_ROWS_TABLES,
        RECORDED_TABLES,
        RULE_TABLES,
    )

    table = section("docs/security.md", "## What an injection can do, per table")
    named = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", table, re.MULTILINE))
    described = {name for pair in named for name in pair if name}
    assert (
        set(RULE_TABLES + GUARDED_TABLES + OWN_ROWS_TABLES + RECORDED_TABLES) - described == set()
    )
