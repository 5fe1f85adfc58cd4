"""SQL text as named objects: split into statements, each statement keyed by what it defines."""

import re

# What a statement defines, by its opening words. A GRANT, REVOKE or COMMENT on a function or
# schema belongs to that object; any other statement defines nothing the source tracks.
DEFINITIONS = [
    ("schema", re.compile(r"CREATE SCHEMA (?P<name>[\w.]+)", re.I)),
    ("table", re.compile(r"CREATE TABLE (?P<name>[\w.]+)", re.I)),
    ("function", re.compile(r"CREATE (?:OR REPLACE )?FUNCTION (?P<name>[\w.]+)\s*\(", re.I)),
    ("rls", re.compile(r"ALTER TABLE (?P<name>[\w.]+) ENABLE ROW LEVEL SECURITY$", re.I)),
    ("force rls", re.compile(r"ALTER TABLE (?P<name>[\w.]+) FORCE ROW LEVEL SECURITY$", re.I)),
    ("policy", re.compile(r"CREATE POLICY (?P<name>\w+) ON (?P<table>[\w.]+)", re.I)),
    ("trigger", re.compile(r"CREATE TRIGGER (?P<name>\w+) .*? ON (?P<table>[\w.]+)", re.I | re.S)),
]
ATTACHED = re.compile(
    r"(?:GRANT|REVOKE|COMMENT) .*? ON (?P<kind>FUNCTION|SCHEMA) (?P<name>[\w.]+)", re.I | re.S
)
NAME = r"(?:IF EXISTS )?(?P<name>[\w.]+)"
ON_TABLE = r" ON (?P<table>[\w.]+)"
DROPS = [
    ("function", re.compile(r"DROP FUNCTION " + NAME, re.I)),
    ("policy", re.compile(r"DROP POLICY " + NAME + ON_TABLE, re.I)),
    ("trigger", re.compile(r"DROP TRIGGER " + NAME + ON_TABLE, re.I)),
    ("rls", re.compile(r"ALTER TABLE (?P<name>[\w.]+) DISABLE ROW LEVEL SECURITY$", re.I)),
    ("force rls", re.compile(r"ALTER TABLE (?P<name>[\w.]+) NO FORCE ROW LEVEL SECURITY$", re.I)),
    ("table", re.compile(r"DROP TABLE " + NAME, re.I)),
    ("schema", re.compile(r"DROP SCHEMA " + NAME, re.I)),
]
DOLLAR_QUOTE = re.compile(r"\$[A-Za-z_]*\$")


def split(text):
    """The statements of `text`, each with the comment lines just before it, without ';'."""
    statements, start, i, n = [], 0, 0, len(text)
    while i < n:
        if text.startswith("--", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text[i] == "'":
            i = text.find("'", i + 1) + 1 or n
            while i < n and text[i] == "'":  # '' inside a string
                i = text.find("'", i + 1) + 1 or n
            continue
        elif (quote := DOLLAR_QUOTE.match(text, i)) is not None:
            end = text.find(quote.group(), quote.end())
            i = n if end < 0 else end + len(quote.group())
            continue
        elif text[i] == ";":
            statements.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail and code(tail):
        statements.append(tail)
    return [s for s in statements if s]


def code(statement):
    """The statement without its leading comment lines."""
    lines = statement.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def _key(kind, match):
    groups = match.groupdict()
    name = groups["name"].removeprefix("public.")
    if "table" in groups:
        return f"{kind} {name} on {groups['table'].removeprefix('public.')}"
    return f"{kind} {name}"


def defines(statement):
    """The key of the object `statement` creates, or None."""
    body = code(statement)
    for kind, pattern in DEFINITIONS:
        if match := pattern.match(body):
            return _key(kind, match)
    return None


def attaches_to(statement):
    """The key of the function or schema a GRANT, REVOKE or COMMENT statement is about."""
    match = ATTACHED.match(code(statement))
    if match is None:
        return None
    return f"{match.group('kind').lower()} {match.group('name').removeprefix('public.')}"


def drops(statement):
    """The key of the object `statement` removes, or None."""
    body = code(statement)
    for kind, pattern in DROPS:
        if match := pattern.match(body):
            return _key(kind, match)
    return None


def objects(text):
    """{key: SQL} of the objects `text` defines, in order; attached statements join theirs."""
    found = {}
    for statement in split(text):
        key = defines(statement)
        if key is not None:
            if key in found:
                raise ValueError(f"{key} is stated twice")
            found[key] = statement + ";"
            continue
        owner = attaches_to(statement)
        if owner is not None and owner in found:
            found[owner] += "\n" + statement + ";"
            continue
        raise ValueError(f"the source may only define objects; this defines none:\n{statement}")
    return found


def apply(state, text):
    """`state` ({key: SQL}) after the statements of `text`, as a migration applies them."""
    for statement in split(text):
        key = defines(statement)
        if key is not None:
            state[key] = statement + ";"
            continue
        owner = attaches_to(statement)
        if owner is not None and owner in state:
            state[owner] += "\n" + statement + ";"
            continue
        dropped = drops(statement)
        if dropped is not None:
            state.pop(dropped, None)
    return state
