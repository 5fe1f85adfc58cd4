"""What the README and docs/ name exists: repository files, links, and the database's SQL objects.

The SQL objects are looked up in the database layer's source, `divisions/database/*.sql`, read
as text: a doc may name a function, a policy or a trigger only if that source states it.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SQL_SOURCE = ROOT / "divisions" / "database"
# The first folder of a path a doc may name; anything else in backticks (a URL path such as
# `/jobs/`, a git-ignored output folder) is not a repository file.
TOP_LEVEL = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}

# A path in backticks: folders and a file, optionally ending in `/`, with a test id after `::`.
PATH = re.compile(r"^([\w.-]+(?:/[\w.-]+)+/?)(?:::[\w:]+)?$")
# An SQL object in backticks: `proone_x`, `proone_x()`, `proone_rls.x()`, `proone_a/b/c`.
SQL_NAME = re.compile(r"^((?:proone_rls\.)?proone_\w+|proone_rls\.\w+)((?:/\w+)*)(\(.*\))?$")
# Names in backticks that look like SQL objects and are not: the replica's cookie.
NOT_SQL = {"proone_wrote"}
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def spans(doc):
    """Every inline code span of a Markdown file (fenced blocks left out)."""
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.DOTALL)
    return re.findall(r"`([^`\n]+)`", text)


def named_paths(doc):
    for span in spans(doc):
        match = PATH.match(span)
        if match and match.group(1).split("/")[0] in TOP_LEVEL:
            yield match.group(1)


def named_sql(doc):
    """(name, is_function) for each SQL object a doc names; `proone_insert/update/delete` is
    three names, each the first with its last word replaced."""
    for span in spans(doc):
        match = SQL_NAME.match(span)
        if not match:
            continue
        first, more, call = match.groups()
        names = [first]
        for word in filter(None, (more or "").split("/")):
            names.append(first.rsplit("_", 1)[0] + "_" + word)
        for name in names:
            if name not in NOT_SQL:
                yield name, call is not None


def sql_source():
    files = sorted(SQL_SOURCE.glob("*.sql"))
    assert files, (
        f"{SQL_SOURCE.relative_to(ROOT)}/ holds no .sql files: the database layer's source"
    )
    return "\n".join(f.read_text() for f in files)


def stated(source, name, is_function):
    """Whether the SQL source defines `name` (a function when called with parentheses)."""
    qualified = re.escape(name)
    if is_function:
        return re.search(rf"\bFUNCTION\s+(?:public\.)?{qualified}\s*\(", source, re.I) is not None
    return re.search(rf"(?<![\w.])(?:public\.)?{qualified}\b", source) is not None


def where(doc):
    return str(doc.relative_to(ROOT))


def test_every_path_a_doc_names_exists():
    missing = [
        f"{where(doc)}: `{path}`"
        for doc in DOCS
        for path in named_paths(doc)
        if not (ROOT / path).exists()
    ]
    assert missing == [], "docs name files that do not exist:\n" + "\n".join(missing)


def test_every_relative_link_resolves():
    broken = [
        f"{where(doc)}: ({target})"
        for doc in DOCS
        for target in LINK.findall(doc.read_text())
        if "://" not in target and not (doc.parent / target).exists()
    ]
    assert broken == [], "docs link to files that do not exist:\n" + "\n".join(broken)


def test_every_sql_object_a_doc_names_is_in_the_database_source():
    source = sql_source()
    missing = sorted(
        {
            f"{where(doc)}: `{name}{'()' if is_function else ''}`"
            for doc in DOCS
            for name, is_function in named_sql(doc)
            if not stated(source, name, is_function)
        }
    )
    assert missing == [], (
        "docs name SQL objects that divisions/database/*.sql does not state:\n" + "\n".join(missing)
    )


def test_the_sql_names_are_found_in_the_docs():
    """The name check above reads the docs' SQL names; it would pass vacuously if it found none."""
    found = {name for doc in DOCS for name, _ in named_sql(doc)}
    assert {"proone_enter", "proone_visible_divisions", "proone_update_status"} <= found
    assert {"proone_insert", "proone_update", "proone_delete"} <= found


def test_no_doc_points_at_a_migration_as_where_something_lives():
    """Migrations are generated output; docs name the source (docs/migrations.md's examples of
    the gate's commands are commands, not places)."""
    pointing = [
        f"{where(doc)}: `{path}`"
        for doc in DOCS
        for path in named_paths(doc)
        if "/migrations/" in path
    ]
    assert pointing == [], "docs point at migration files:\n" + "\n".join(pointing)


def test_the_benchmarks_page_is_the_latest_run_and_its_notes():
    """`make bench` writes the page from benchmarks/notes.md; the journal stays its own file."""
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    notes = (ROOT / "benchmarks" / "notes.md").read_text()
    journal = (ROOT / "benchmarks" / "journal.md").read_text()
    assert page.endswith("\n" + notes.rstrip() + "\n")
    assert "benchmarks/journal.md" in notes
    assert journal.startswith("# Benchmarks journal\n")
    first_entry = journal.split("\n## ", 2)[1].splitlines()[0]
    assert first_entry not in page
