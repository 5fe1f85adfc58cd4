"""SQL text as named objects: split into statements, each statement keyed by what it defines.

A function's key carries its argument types (`function proone_title_search(term text, ...)`),
so an overload is an object of its own.
"""

import re

IDENTIFIER = r"[\w.]+"
IF_EXISTS = r"(?:IF (?:NOT )?EXISTS )?"

# What a statement defines, by its opening words.
DEFINITIONS = [
    ("schema", re.compile(rf"CREATE SCHEMA {IF_EXISTS}(?P<name>{IDENTIFIER})", re.I)),
    ("table", re.compile(rf"CREATE TABLE {IF_EXISTS}(?P<name>{IDENTIFIER})", re.I)),
    (
        "function",
        re.compile(rf"CREATE (?:OR REPLACE )?FUNCTION (?P<name>{IDENTIFIER})\s*(?=\()", re.I),
    ),
    ("rls", re.compile(rf"ALTER TABLE (?P<name>{IDENTIFIER}) ENABLE ROW LEVEL SECURITY$", re.I)),
    (
        "force rls",
        re.compile(rf"ALTER TABLE (?P<name>{IDENTIFIER}) FORCE ROW LEVEL SECURITY$", re.I),
    ),
    ("policy", re.compile(rf"CREATE POLICY (?P<name>\w+) ON (?P<table>{IDENTIFIER})", re.I)),
    (
        "trigger",
        re.compile(
            rf"CREATE (?:OR REPLACE )?(?:CONSTRAINT )?TRIGGER (?P<name>\w+)\s.*?\sON "
            rf"(?P<table>{IDENTIFIER})",
            re.I | re.S,
        ),
    ),
]
# A GRANT, REVOKE or COMMENT on a function or schema belongs to that object.
ATTACHED = re.compile(
    rf"(?:GRANT|REVOKE|COMMENT)\b.*?\bON (?P<kind>FUNCTION|SCHEMA) (?P<name>{IDENTIFIER})\s*",
    re.I | re.S,
)
DROPS = [
    ("function", re.compile(rf"DROP FUNCTION {IF_EXISTS}(?P<name>{IDENTIFIER})\s*(?=\()", re.I)),
    (
        "policy",
        re.compile(rf"DROP POLICY {IF_EXISTS}(?P<name>\w+) ON (?P<table>{IDENTIFIER})", re.I),
    ),
    (
        "trigger",
        re.compile(rf"DROP TRIGGER {IF_EXISTS}(?P<name>\w+) ON (?P<table>{IDENTIFIER})", re.I),
    ),
    ("rls", re.compile(rf"ALTER TABLE (?P<name>{IDENTIFIER}) DISABLE ROW LEVEL SECURITY$", re.I)),
    (
        "force rls",
        re.compile(rf"ALTER TABLE (?P<name>{IDENTIFIER}) NO FORCE ROW LEVEL SECURITY$", re.I),
    ),
    ("table", re.compile(rf"DROP TABLE {IF_EXISTS}(?P<name>{IDENTIFIER})", re.I)),
    ("schema", re.compile(rf"DROP SCHEMA {IF_EXISTS}(?P<name>{IDENTIFIER})", re.I)),
]
# Statements that change an object of the source in place: a migration states the object
# whole instead (CREATE OR REPLACE, or DROP and CREATE), so its state can be followed.
ALTERS = re.compile(r"ALTER (?:FUNCTION|PROCEDURE|POLICY|TRIGGER)\b", re.I)
DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")


def _skip(text, i):
    """Where the quoted string, quoted identifier or comment starting at `i` ends, or None."""
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    if text[i] in "'\"":
        quote = text[i]
        escapes = (
            quote == "'" and i > 0 and text[i - 1] in "eE" and not text[i - 2 : i - 1].isalnum()
        )
        j = i + 1
        while j < len(text):
            if escapes and text[j] == "\\":
                j += 2
                continue
            if text[j] == quote:
                if text.startswith(quote * 2, j):  # '' or "" inside
                    j += 2
                    continue
                return j + 1
            j += 1
        return len(text)
    if (tag := DOLLAR_QUOTE.match(text, i)) is not None and not text[i - 1 : i].isalnum():
        end = text.find(tag.group(), tag.end())
        return len(text) if end < 0 else end + len(tag.group())
    return None


def split(text):
    """The statements of `text`, each with the comment lines just before it, without ';'."""
    statements, start, i = [], 0, 0
    while i < len(text):
        end = _skip(text, i)
        if end is not None:
            i = end
            continue
        if text[i] == ";":
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


def arguments(text, start):
    """The argument list in parentheses at `start` of `text`, without defaults and with its
    white space folded: what names a function among its overloads."""
    depth, i, items, current = 0, start, [], ""
    while i < len(text):
        end = _skip(text, i)
        if end is not None:
            current += text[i:end]
            i = end
            continue
        char = text[i]
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            break
        if char == "," and depth == 1:
            items.append(current)
            current = ""
        elif depth > 1 or char != "(":
            current += char
        i += 1
    items.append(current)
    kept = [re.split(r"\s+DEFAULT\s|\s*=\s*", item.strip(), flags=re.I)[0] for item in items]
    return ", ".join(" ".join(item.split()) for item in kept if item.strip())


def _key(kind, match, body):
    groups = match.groupdict()
    name = groups["name"].removeprefix("public.")
    if "table" in groups:
        return f"{kind} {name} on {groups['table'].removeprefix('public.')}"
    if kind == "function":
        return f"function {name}({arguments(body, match.end())})"
    return f"{kind} {name}"


def _match(patterns, statement):
    body = code(statement)
    for kind, pattern in patterns:
        if match := pattern.match(body):
            return _key(kind, match, body)
    return None


def defines(statement):
    """The key of the object `statement` creates, or None."""
    return _match(DEFINITIONS, statement)


def drops(statement):
    """The key of the object `statement` removes, or None."""
    return _match(DROPS, statement)


def attaches_to(statement):
    """The key of the function or schema a GRANT, REVOKE or COMMENT statement is about."""
    body = code(statement)
    match = ATTACHED.match(body)
    if match is None:
        return None
    name = match.group("name").removeprefix("public.")
    if match.group("kind").upper() == "FUNCTION":
        return f"function {name}({arguments(body, match.end())})"
    return f"schema {name}"


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
        elif ALTERS.match(code(statement)):
            raise ValueError(
                "A migration of the database layer alters an object in place, which its "
                f"state cannot follow; state the object whole instead:\n{statement}"
            )
    return state
