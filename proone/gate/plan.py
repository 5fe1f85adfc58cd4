"""Building and checking the plan: sign-offs, lint, integrity, drift, committed files."""

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState

from . import GateError, keys, signing, vcs
from .connection import described, same_credentials_as_app
from .fingerprint import is_project_file, migration_file, migration_sha256, package_of
from .lint import codes_needing_ack, created_models, lint_migration
from .models import AppliedMigration, SignOff

SIGNOFF_TABLE = SignOff._meta.db_table


def protected():
    """True in a protected environment (settings.MIGRATIONS_REQUIRE_SIGNOFF)."""
    return bool(getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False))


def require_committed():
    """Only committed migration files are applied (default: in protected environments)."""
    return bool(getattr(settings, "MIGRATIONS_REQUIRE_COMMITTED", protected()))


def gate_tables_exist(alias):
    """True once the gate's own tables exist in database `alias`."""
    return SIGNOFF_TABLE in connections[alias].introspection.table_names()


def require_gate_tables(alias):
    """Refuse to work on a database that was never bootstrapped."""
    if not gate_tables_exist(alias):
        raise GateError(
            f"The {described(alias)} has no migration gate tables yet (it was never bootstrapped). "
            "Run `manage.py migrate_secure --bootstrap` first; see docs/migrations.md."
        )


def _check_app(loader, app_label):
    try:
        apps.get_app_config(app_label)
    except LookupError:
        raise GateError(
            f"There is no installed app with the label {app_label!r}. Labels are the last "
            "part of the app's name, e.g. 'jobs' or 'divisions'."
        ) from None
    if app_label not in loader.migrated_apps:
        raise GateError(f"App {app_label!r} has no migrations.")


def find_migration(alias, app_label, migration_name):
    """(loader, migration) for a name or unique prefix; GateError when unknown."""
    loader = MigrationExecutor(connections[alias]).loader
    _check_app(loader, app_label)
    try:
        migration = loader.get_migration_by_prefix(app_label, migration_name)
    except AmbiguityError:
        raise GateError(
            f"More than one migration of {app_label!r} starts with {migration_name!r}; "
            "give more of the name."
        ) from None
    except KeyError:
        raise GateError(
            f"App {app_label!r} has no migration named {migration_name!r}. "
            f"`manage.py showmigrations {app_label}` lists them."
        ) from None
    return loader, migration


@dataclass
class Step:
    """One migration in the plan and everything the gate found about it."""

    migration: object
    backwards: bool
    kind: str
    sha256: str
    findings: list
    state: str = "missing"
    signoff: object = None
    problems: list = field(default_factory=list)
    package: str | None = None

    @property
    def label(self):
        return f"{self.migration.app_label}.{self.migration.name}"


@dataclass
class Plan:
    """The pending steps, the executor that will run them, and every reason to refuse."""

    alias: str
    executor: object
    targets: list
    steps: list
    fake: bool
    problems: list = field(default_factory=list)
    # Sign-off rows ignored because their signature fails (written behind the gate's back).
    ignored: list = field(default_factory=list)
    # Earlier runs that started applying and never wrote their ending row (killed?).
    interrupted: list = field(default_factory=list)

    @property
    def reasons(self):
        return self.problems + [p for step in self.steps for p in step.problems]

    @property
    def refused(self):
        return bool(self.reasons)


def _targets(executor, app_label, migration_name):
    loader = executor.loader
    conflicts = loader.detect_conflicts()
    if conflicts:
        names = "; ".join(f"{app}: {', '.join(names)}" for app, names in conflicts.items())
        raise GateError(
            f"Conflicting migrations ({names}). Merge them with `makemigrations --merge` in "
            "development, commit, and have the merge signed off."
        )
    if app_label is None:
        return loader.graph.leaf_nodes()
    _check_app(loader, app_label)
    if migration_name is None:
        return [key for key in loader.graph.leaf_nodes() if key[0] == app_label]
    if migration_name == "zero":
        return [(app_label, None)]
    migration = find_migration(executor.connection.alias, app_label, migration_name)[1]
    return [(app_label, migration.name)]


def package_author(package):
    """What a package review records as the author of a file the package `name==version` ships."""
    return f"installed package {package}"


def forged_message(signoff):
    """What the operator is told about a sign-off row whose signature fails."""
    return (
        f"sign-off #{signoff.pk} of {signoff.app_label}.{signoff.migration_name} "
        f"({signoff.kind}, reviewer {signoff.reviewer_username!r}, sha256 {signoff.sha256[:12]}) "
        "is IGNORED: its signature does not verify with GATE_SIGNING_KEY, so signoff_migration "
        "did not write it (or it was altered since). Find out who wrote it: the app role must "
        "hold no privilege on the gate's tables (docs/migrations.md)."
    )


def signoff_state(alias, migration, kind, sha256, findings, key, ignored=None):
    """(state, valid sign-off or latest sign-off or None) of one migration step.

    Rows whose signature fails are left out and their messages appended to `ignored`.
    """
    signoffs = []
    for signoff in SignOff.objects.using(alias).filter(
        app_label=migration.app_label, migration_name=migration.name, kind=kind
    ):
        if signing.signature_valid(signoff, key):
            signoffs.append(signoff)
        elif ignored is not None:
            ignored.append(forged_message(signoff))
    if not signoffs:
        return "missing", None
    bound = [s for s in signoffs if s.sha256 == sha256]
    if not bound:
        return "void (file changed)", signoffs[0]
    package = package_of(migration)
    if package is not None:
        # A package review covers one release: a new version needs a new review.
        bound = [s for s in bound if s.author == package_author(package)]
        if not bound:
            return "void (package version changed)", signoffs[0]
    needed = set(codes_needing_ack(findings)) if kind == SignOff.Kind.APPLY else set()
    for signoff in bound:
        if needed <= set(signoff.acknowledged):
            return "valid", signoff
    return "needs acknowledgement", bound[0]


def _step_problems(step):
    app, name = step.migration.app_label, step.migration.name
    privileged = "" if step.kind == SignOff.Kind.APPLY else f" --privileged {step.kind}"
    command = f"manage.py signoff_migration {app} {name} --reviewer USERNAME{privileged}"
    if step.package and step.kind == SignOff.Kind.APPLY:
        command = "manage.py signoff_packages --reviewer USERNAME"
    what = {"apply": "to apply", "fake": "to fake", "unapply": "to unapply"}[step.kind]
    if step.state == "missing":
        if step.package and step.kind == SignOff.Kind.APPLY:
            return [
                f"{step.label} (from {step.package}): no package review covers it. A reviewer "
                f"runs: {command}"
            ]
        if step.kind == SignOff.Kind.APPLY:
            command += " (or manage.py signoff_release --reviewer USERNAME for every one at once)"
        return [f"{step.label}: no sign-off {what} it. A reviewer (not its author) runs: {command}"]
    if step.state == "void (package version changed)":
        return [
            f"{step.label}: the review by {step.signoff.reviewer_username} covered "
            f"{step.signoff.author.removeprefix('installed package ')}, but {step.package} is "
            f"installed now. Have the new version reviewed; the reviewer runs: {command}"
        ]
    if step.state.startswith("void"):
        return [
            f"{step.label}: the sign-off by {step.signoff.reviewer_username} is void because the "
            f"file changed after it was signed (signed {step.signoff.sha256[:12]}, now "
            f"{step.sha256[:12]}). Have the new version reviewed; the reviewer runs: {command}"
        ]
    if step.state == "needs acknowledgement":
        codes = ", ".join(codes_needing_ack(step.findings))
        return [
            f"{step.label}: its sign-off does not acknowledge {codes}. After reading the "
            f"findings, a reviewer runs: {command} --acknowledge-findings"
        ]
    return []


def integrity_problems(alias, loader):
    """Applied migrations whose file changed since the gate applied them."""
    recorded = {
        (row.app_label, row.migration_name): row.sha256
        for row in AppliedMigration.objects.using(alias).all()
    }
    problems = []
    for key in sorted(loader.applied_migrations):
        migration = loader.disk_migrations.get(key)
        if migration is None or key not in recorded:
            continue
        current = migration_sha256(migration)
        if current != recorded[key]:
            problems.append(
                f"{key[0]}.{key[1]} was applied from a file with hash {recorded[key][:12]}, but "
                f"the file has changed since (now {current[:12]}). Never edit an applied "
                "migration: restore the file as applied (git log/checkout) and put the change "
                "in a new migration."
            )
    return problems


def unrecorded_applied(alias, loader):
    """Applied migrations on disk whose hash the gate never recorded (applied before it)."""
    recorded = set(AppliedMigration.objects.using(alias).values_list("app_label", "migration_name"))
    return [
        loader.disk_migrations[key]
        for key in sorted(loader.applied_migrations)
        if key in loader.disk_migrations and key not in recorded
    ]


def unsigned_steps(alias, *, packages):
    """The plan's steps that apply a migration without a valid sign-off: installed packages'
    (reviewed as a set with signoff_packages) or the project's own (signoff_release)."""
    require_gate_tables(alias)
    return [
        step
        for step in build_plan(alias).steps
        if bool(step.package) == packages
        and step.kind == SignOff.Kind.APPLY
        and step.state != "valid"
    ]


def partial_squashes(loader):
    """A squashed migration part of whose history this database holds: Django would run the
    squash over what is there, so the history must be finished first, by the release before."""
    problems = []
    for key, migration in sorted(loader.replacements.items()):
        applied = [name for name in migration.replaces if name in loader.applied_migrations]
        if applied and len(applied) < len(migration.replaces):
            newest = migration.replaces[-1]
            problems.append(
                f"This database holds {len(applied)} of the {len(migration.replaces)} migrations "
                f"{key[0]}.{key[1]} replaces (up to {applied[-1][0]}.{applied[-1][1]}): apply "
                f"the rest with the release that still has them (up to {newest[0]}.{newest[1]}),"
                " then this one; nothing was applied. See docs/migrations.md, 'Squashed history'."
            )
    return problems


def drift_problems(loader):
    """Model changes that have no migration yet (what `makemigrations --check` reports)."""
    autodetector = MigrationAutodetector(
        loader.project_state(),
        ProjectState.from_apps(apps),
        NonInteractiveMigrationQuestioner(specified_apps=None, dry_run=True),
    )
    changes = autodetector.changes(graph=loader.graph)
    return [
        f"App {app!r} has model changes without a migration "
        f"({'; '.join(op.describe() for m in migrations for op in m.operations)}). Run "
        f"`manage.py makemigrations {app}` in development, commit and have it signed off."
        for app, migrations in sorted(changes.items())
    ]


def build_plan(alias, app_label=None, migration_name=None, *, fake=False):
    """The steps `migrate_secure` would run now and every reason it would refuse."""
    key = keys.current_key(alias)
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    targets = _targets(executor, app_label, migration_name)
    pairs = executor.migration_plan(targets)
    vendor = connection.vendor
    steps = []
    planned = set()
    ignored = []
    for migration, backwards in pairs:
        if backwards:
            kind = SignOff.Kind.UNAPPLY
        else:
            kind = SignOff.Kind.FAKE if fake else SignOff.Kind.APPLY
        findings = []
        if not backwards:
            findings = lint_migration(executor.loader, migration, vendor, frozenset(planned))
            planned |= created_models(migration)
        step = Step(migration, backwards, kind, migration_sha256(migration), findings)
        step.package = package_of(migration)
        step.state, step.signoff = signoff_state(
            alias, migration, kind, step.sha256, findings, key, ignored
        )
        step.problems = _step_problems(step)
        path = migration_file(migration)
        if require_committed() and is_project_file(path) and not vcs.is_committed(path):
            step.problems.append(
                f"{step.label}: {migration_file(migration)} is not committed (or has "
                "uncommitted changes); this environment applies only committed migration "
                "files. Commit it and have the committed version signed off."
            )
        steps.append(step)
    plan = Plan(alias, executor, targets, steps, fake, ignored=ignored)
    plan.problems += partial_squashes(executor.loader)
    plan.problems += integrity_problems(alias, executor.loader)
    plan.problems += drift_problems(executor.loader)
    if protected() and same_credentials_as_app(alias):
        plan.problems.append(
            f"The {described(alias)} would be migrated with the application's own credentials. "
            "Set DATABASE_MIGRATE_URL to the owner role (see docs/migrations.md)."
        )
    return plan
