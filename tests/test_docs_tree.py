"""The README's "where the code lives" table and the layers picture name files that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def section(path, heading):
    """The text under a Markdown heading, up to the next heading of any level."""
    text = (ROOT / path).read_text()
    return text.split(heading, 1)[1].split("\n#", 1)[0]


def test_the_readme_table_names_existing_files():
    table = section("README.md", "## Where the code for it lives")
    paths = [p for p in re.findall(r"`([\w./]+)`", table) if "/" in p]
    assert len(paths) > 10
    assert [p for p in paths if not (ROOT / p).exists()] == []


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
    from divisions.rls import GUARDED_TABLES, RULE_TABLES

    table = section("docs/security.md", "## What an injection can do, per table")
    named = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", table, re.MULTILINE))
    described = {name for pair in named for name in pair if name}
    assert set(RULE_TABLES + GUARDED_TABLES) - described == set()
