"""Lint rules with stable codes for migration operations (documented in docs/migrations.md)."""

from dataclasses import dataclass

from django.db import migrations
from django.db.migrations.operations.base import Operation
from django.db.models import NOT_PROVIDED, UniqueConstraint

# code: (kind, title). "destructive" and "unanalysable" findings need an acknowledging sign-off.
RULES = {
    "MG101": ("destructive", "drops a model (its table and every row)"),
    "MG102": ("destructive", "drops a field (its column and its data)"),
    "MG103": ("destructive", "renames a model or its table (running code still uses the old one)"),
    "MG104": ("destructive", "renames a field (running code still uses the old column)"),
    "MG105": ("destructive", "narrows a column's type (values may be cut or rejected)"),
    "MG106": ("destructive", "makes a column NOT NULL without a default (existing NULLs fail)"),
    "MG107": ("warning", "adds a unique constraint on an existing table (duplicates fail)"),
    "MG108": ("warning", "builds an index without CONCURRENTLY on PostgreSQL (locks writes)"),
    "MG109": ("unanalysable", "runs raw SQL (RunSQL), which the linter cannot analyse"),
    "MG110": ("unanalysable", "runs Python (RunPython), which the linter cannot analyse"),
    "MG111": ("destructive", "cannot be reversed (RunSQL/RunPython without a reverse)"),
    "MG112": ("unanalysable", "uses an operation the linter does not know"),
}

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
        return self.code in NEEDS_ACK

    def __str__(self):
        return f"{self.code} {self.operation}: {self.message}"


def _field(state, app_label, model_name, field_name):
    try:
        return state.models[app_label, model_name.lower()].fields[field_name]
    except KeyError:
        return None


def _narrows(old, new):
    if old.get_internal_type() != new.get_internal_type():
        return True
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
            no_default = not new.has_default() and new.db_default is NOT_PROVIDED
            if old.null and not new.null and no_default:
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
        if populated and vendor == "postgresql" and type(op).__name__ != "AddIndexConcurrently":
            add("MG108", op.index.name)
    elif isinstance(op, SAFE_OPERATIONS) or type(op).__name__ == "AddIndexConcurrently":
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
