"""Lint rules with stable codes for migration operations (documented in docs/migrations.md).

On PostgreSQL squawk (https://squawkhq.com) also reads each migration's SQL; its rule names
are findings beside ours (`squawk:<rule>`) and need acknowledgement the same way.
"""

import ast
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations
from django.db.migrations.operations.base import Operation
from django.db.models import NOT_PROVIDED, UniqueConstraint

from .bootstrap import released
from .checklist import plain_secrets, tables_without_row_security
from .fingerprint import is_project_file, migration_file

# code: (kind, title). Every kind but "warning" needs a sign-off that acknowledges the code.
RULES = {
    "MG101": ("destructive", "drops a model (its table and every row)"),
    "MG102": ("destructive", "drops a field (its column and its data)"),
    "MG103": ("destructive", "renames a model or its table (running code still uses the old one)"),
    "MG104": ("destructive", "renames a field (running code still uses the old column)"),
    "MG105": ("destructive", "narrows a column's type (values may be cut or rejected)"),
    "MG106": ("risky", "makes an existing column NOT NULL (existing NULLs fail; table scan lock)"),
    "MG107": ("risky", "adds a unique constraint on an existing table (duplicates fail; locks)"),
    "MG108": ("warning", "builds an index without CONCURRENTLY on PostgreSQL (locks writes)"),
    "MG109": ("unanalysable", "runs raw SQL (RunSQL), which the linter cannot analyse"),
    "MG110": ("unanalysable", "runs Python (RunPython), which the linter cannot analyse"),
    "MG111": ("destructive", "cannot be reversed (RunSQL/RunPython without a reverse)"),
    "MG112": ("unanalysable", "uses an operation the linter does not know"),
    "MG113": (
        "risky",
        "adds a NOT NULL column without a database default (running code's INSERTs fail)",
    ),
    "MG114": ("risky", "widens a column's type (PostgreSQL rewrites the table under a lock)"),
    "MG115": ("destructive", "changes a column's type (values are converted or rejected)"),
    "MG116": ("unanalysable", "squawk could not check this migration's SQL"),
    "MG117": (
        "risky",
        "imports another migration (what runs then depends on that file's text, not this one's)",
    ),
    "MG118": (
        "review",
        "adds a column whose name says it holds a secret, as plain text "
        "(store a hash or encrypt it, and name the column so, e.g. password_hash)",
    ),
    "MG119": (
        "review",
        "creates a table of a tenant-owned app without row-level security "
        "(state it in the database source, divisions/database/*.sql)",
    ),
}
# The review checklist's questions: asked of new files, not of released ones.
CHECKLIST = ("MG118", "MG119")

NEEDS_ACK = {code for code, (kind, _) in RULES.items() if kind != "warning"}

SAFE_OPERATIONS = (
    migrations.CreateModel,
    migrations.AlterModelOptions,
    migrations.AlterModelManagers,
    migrations.AlterModelTableComment,
    migrations.RemoveIndex,
    migrations.RenameIndex,
    migrations.RemoveConstraint,
    migrations.AlterIndexTogether,
    migrations.AlterOrderWithRespectTo,
)


@dataclass(frozen=True)
class Finding:
    """One lint finding: a rule code on one operation of one migration."""

    code: str
    operation: str
    message: str

    @property
    def needs_ack(self):
        return self.code in NEEDS_ACK or self.code.startswith(SQUAWK_PREFIX)

    def __str__(self):
        return f"{self.code} {self.operation}: {self.message}"


def _field(state, app_label, model_name, field_name):
    try:
        return state.models[app_label, model_name.lower()].fields[field_name]
    except KeyError:
        return None


# (from, to) internal types whose every value fits the new type: widening, not narrowing.
WIDENINGS = {
    ("SmallIntegerField", "IntegerField"),
    ("SmallIntegerField", "BigIntegerField"),
    ("IntegerField", "BigIntegerField"),
    ("PositiveSmallIntegerField", "PositiveIntegerField"),
    ("PositiveSmallIntegerField", "PositiveBigIntegerField"),
    ("PositiveIntegerField", "PositiveBigIntegerField"),
    ("PositiveSmallIntegerField", "IntegerField"),
    ("PositiveSmallIntegerField", "BigIntegerField"),
    ("PositiveIntegerField", "BigIntegerField"),
    ("SmallAutoField", "AutoField"),
    ("SmallAutoField", "BigAutoField"),
    ("AutoField", "BigAutoField"),
    ("FloatField", "DecimalField"),
    ("CharField", "TextField"),
    ("SlugField", "CharField"),
    ("SlugField", "TextField"),
    ("EmailField", "CharField"),
    ("EmailField", "TextField"),
    ("URLField", "CharField"),
    ("URLField", "TextField"),
}


def _type_change(old, new):
    """'widens', 'changes' or None: how an AlterField changes the column's internal type."""
    before, after = old.get_internal_type(), new.get_internal_type()
    if before == after:
        return None
    return "widens" if (before, after) in WIDENINGS else "changes"


def _narrows(old, new):
    if old.get_internal_type() != new.get_internal_type():
        return False  # a change of type is named by _type_change
    old_len, new_len = getattr(old, "max_length", None), getattr(new, "max_length", None)
    if old_len is not None and new_len is not None and new_len < old_len:
        return True
    old_digits, new_digits = getattr(old, "max_digits", None), getattr(new, "max_digits", None)
    if old_digits is not None and new_digits is not None and new_digits < old_digits:
        return True
    old_places = getattr(old, "decimal_places", None)
    new_places = getattr(new, "decimal_places", None)
    return old_places is not None and new_places is not None and new_places < old_places


def _lint_operation(op, app_label, state, created, vendor, planned=frozenset()):
    name = op.describe()
    found = []

    def add(code, detail=""):
        message = RULES[code][1] + (f" ({detail})" if detail else "")
        found.append(Finding(code, name, message))

    if isinstance(op, migrations.SeparateDatabaseAndState):
        for inner in op.database_operations:
            found += _lint_operation(inner, app_label, state, created, vendor, planned)
        return found
    if isinstance(op, migrations.RunSQL):
        add("MG109")
        if not op.reversible:
            add("MG111")
        return found
    if isinstance(op, migrations.RunPython):
        add("MG110")
        if not op.reversible:
            add("MG111")
        return found
    for column in plain_secrets(op, app_label):
        add("MG118", column)
    for table in tables_without_row_security(op, app_label):
        add("MG119", table)
    model = getattr(op, "model_name", getattr(op, "name", "")).lower()
    existing = model not in created
    # Locks and duplicates only matter on a table that already holds rows: not on one created
    # earlier in the same plan (MG107, MG108).
    populated = existing and (app_label, model) not in planned
    if isinstance(op, migrations.DeleteModel):
        add("MG101")
    elif isinstance(op, migrations.RemoveField):
        add("MG102")
    elif isinstance(op, migrations.RenameModel | migrations.AlterModelTable):
        add("MG103")
    elif isinstance(op, migrations.RenameField):
        add("MG104")
    elif isinstance(op, migrations.AddField):
        field = op.field
        required = not (field.null or field.many_to_many or field.primary_key)
        if populated and required and field.db_default is NOT_PROVIDED:
            if not op.preserve_default:
                how = "a one-off default from makemigrations (preserve_default=False)"
            elif field.has_default():
                how = "a Python default only, which the database does not know"
            else:
                how = "no default"
            add("MG113", f"{op.model_name}.{op.name}: {how}")
        if populated and (field.unique and not field.primary_key):
            add("MG107", f"{op.model_name}.{op.name}")
        if populated and field.db_index and vendor == "postgresql":
            add("MG108", f"{op.model_name}.{op.name}")
    elif isinstance(op, migrations.AlterField):
        old = _field(state, app_label, op.model_name, op.name)
        new = op.field
        if old is not None and existing:
            where = f"{op.model_name}.{op.name}"
            if _narrows(old, new):
                add("MG105", where)
            change = _type_change(old, new)
            types = f"{where}: {old.get_internal_type()} -> {new.get_internal_type()}"
            if change == "widens":
                add("MG114", types)
            elif change == "changes":
                add("MG115", types)
            if populated and old.null and not new.null:
                add("MG106", where)
            if populated and new.unique and not old.unique and not new.primary_key:
                add("MG107", where)
            if populated and new.db_index and not old.db_index and vendor == "postgresql":
                add("MG108", where)
    elif isinstance(op, migrations.AddConstraint):
        if populated and isinstance(op.constraint, UniqueConstraint):
            add("MG107", op.constraint.name)
    elif isinstance(op, migrations.AlterUniqueTogether):
        if populated and op.option_value:
            add("MG107", op.name)
    elif isinstance(op, migrations.AddIndex):
        # A subclass too (e.g. one that builds plainly on SQLite) builds concurrently here.
        if populated and vendor == "postgresql" and not isinstance(op, AddIndexConcurrently):
            add("MG108", op.index.name)
    elif isinstance(op, SAFE_OPERATIONS):
        pass
    elif isinstance(op, Operation):
        add("MG112", type(op).__name__)
    return found


def lint_migration(loader, migration, vendor, planned=frozenset()):
    """Every finding of `migration`, checked against the project state just before it.

    `planned` holds the (app_label, model) pairs that earlier steps of the same plan create.
    """
    state = loader.project_state((migration.app_label, migration.name), at_end=False)
    created = set()
    findings = []
    for op in migration.operations:
        findings += _lint_operation(op, migration.app_label, state, created, vendor, planned)
        if isinstance(op, migrations.CreateModel):
            created.add(op.name.lower())
        op.state_forwards(migration.app_label, state)
    if released(loader, migration):
        # The checklist asks about what is new; a released file was reviewed at its release.
        findings = [finding for finding in findings if finding.code not in CHECKLIST]
    findings += migration_imports(migration)
    # A loader without a connection (offline analysis) has no SQL to give squawk.
    offline = loader.connection is None
    if vendor == "postgresql" and not offline and not only_new_tables(migration, planned):
        findings += squawk_findings(loader, migration)
    return findings


def migration_imports(migration):
    """MG117 for each import of another migration module in a project migration's file."""
    path = migration_file(migration)
    if path is None or not is_project_file(path):
        return []
    found = []
    for node in ast.walk(ast.parse(Path(path).read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        for name in names:
            if MIGRATION_MODULE.search(name):
                found.append(
                    Finding("MG117", f"line {node.lineno}", f"{RULES['MG117'][1]}: {name}")
                )
                break
    return found


MIGRATION_MODULE = re.compile(r"(^|\.)migrations\.\d{4}")


def only_new_tables(migration, planned):
    """True when every operation works on a table this migration or an earlier step creates.

    Such tables hold no rows and no running code uses them yet: squawk's lock rules, which
    read one migration at a time, do not apply (as MG107 and MG108 do not).
    """
    created = set()
    for op in migration.operations:
        if isinstance(op, migrations.CreateModel):
            created.add(op.name.lower())
            continue
        model = getattr(op, "model_name", None) or getattr(op, "name", None)
        if not isinstance(model, str):
            return False
        if model.lower() not in created and (migration.app_label, model.lower()) not in planned:
            return False
    return True


SQUAWK_PREFIX = "squawk:"
# Style and robustness advice that every Django migration would trip (no IF NOT EXISTS, no
# lock_timeout, varchar and int columns): not about the data or the locks of this change.
SQUAWK_EXCLUDED = [
    "prefer-robust-stmts",
    "prefer-text-field",
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-timestamptz",
    "ban-char-field",
    "require-lock-timeout",
    "require-statement-timeout",
]


def squawk_binary():
    """The squawk executable installed beside this interpreter (PyPI squawk-cli), or on PATH."""
    beside = Path(sys.executable).parent / "squawk"
    return str(beside) if beside.exists() else shutil.which("squawk")


def run_squawk(sql, name):
    """squawk's findings ({rule_name, message, line}) for `sql`; RuntimeError when it fails."""
    binary = squawk_binary()
    if binary is None:
        raise RuntimeError("squawk is not installed (pip install squawk-cli)")
    result = subprocess.run(  # noqa: S603 - a fixed binary, the SQL on stdin
        [
            binary,
            "--reporter",
            "json",
            "--pg-version",
            "15",
            "--stdin-filepath",
            f"{name}.sql",
            "--exclude",
            ",".join(SQUAWK_EXCLUDED),
        ],
        input=sql,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError((result.stderr or result.stdout).strip().splitlines()[0])
    return json.loads(result.stdout or "[]")


def squawk_findings(loader, migration):
    """squawk's rules over the SQL `sqlmigrate` shows for `migration`, as findings."""
    try:
        statements = loader.collect_sql([(migration, False)])
        if migration.atomic:
            # squawk then knows tables created here are new and nobody else sees them yet.
            statements = ["BEGIN;", *statements, "COMMIT;"]
        found = run_squawk("\n".join(statements) + "\n", migration.name)
    except Exception as error:  # noqa: BLE001 - any failure to check is a finding, not a pass
        detail = f"{RULES['MG116'][1]} ({type(error).__name__}: {error})"
        return [Finding("MG116", "squawk", detail)]
    findings = []
    for item in found:
        code = SQUAWK_PREFIX + item["rule_name"]
        finding = Finding(code, f"SQL line {item['line'] + 1}", item["message"])
        if finding not in findings:
            findings.append(finding)
    return findings


def created_models(migration):
    """The (app_label, model) pairs `migration` creates."""
    return {
        (migration.app_label, op.name.lower())
        for op in migration.operations
        if isinstance(op, migrations.CreateModel)
    }


def codes_needing_ack(findings):
    """The sorted codes among `findings` that a sign-off must acknowledge."""
    return sorted({f.code for f in findings if f.needs_ack})
