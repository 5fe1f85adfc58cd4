"""Running a checked plan under the lock, with an audit row for the run and each migration."""

from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from . import GateError, audit, keys, signing
from .bootstrap import ROW_LEVEL_SECURITY, released_sha256
from .connection import described, require_owner
from .fingerprint import is_project_file, migration_file, migration_sha256, package_of
from .lock import is_lock_not_available, migration_lock
from .models import AppliedMigration
from .plan import (
    Plan,
    Step,
    build_plan,
    drift_problems,
    gate_tables_exist,
    require_committed,
    require_gate_tables,
    unrecorded_applied,
)
from .project import system_scope
from .timeouts import apply_limits, back_off, limits, reset_limits, retries
from .vcs import is_committed

EVENT = {"apply": "apply", "fake": "fake", "unapply": "unapply"}


class _Rollback(Exception):
    """Raised to roll a rehearsal back."""


def _describe(plan):
    return "; ".join(f"{step.kind} {step.label}" for step in plan.steps) or "nothing to do"


def _applied(alias, event, started, migration, sha256, *, how=None, signoff=None, **audit_fields):
    """Record that `migration` is applied with this content, then audit it as done."""
    AppliedMigration.objects.using(alias).create(
        app_label=migration.app_label,
        migration_name=migration.name,
        sha256=sha256,
        signoff=signoff,
        how=how or event,
    )
    return audit.record(
        alias,
        event,
        "ok",
        started,
        app_label=migration.app_label,
        migration_name=migration.name,
        sha256=sha256,
        **audit_fields,
    )


def _adopt(alias, loader, started):
    """Record the hash of migrations applied before the gate existed (trust on first use)."""
    for migration in unrecorded_applied(alias, loader):
        _applied(
            alias,
            "adopt",
            started,
            migration,
            migration_sha256(migration),
            how="adopted",
            detail="applied before the gate recorded it; its current hash is now recorded",
        )


class _Progress:
    """Writes the hash record and audit row of each migration as the executor finishes it."""

    def __init__(self, alias, steps, attempt=None):
        self.alias = alias
        self.steps = {(s.migration.app_label, s.migration.name, s.backwards): s for s in steps}
        self.attempt = attempt
        self.current = None
        self.started = None

    def __call__(self, action, migration=None, fake=False):
        if action in ("apply_start", "unapply_start"):
            key = (migration.app_label, migration.name, action == "unapply_start")
            self.current, self.started = self.steps[key], timezone.now()
            if self.attempt is not None:
                # Written before the migration runs: a killed run still says what was in flight.
                self.record(self.current, "started")
        elif action in ("apply_success", "unapply_success"):
            self.finish("ok")

    def finish(self, outcome, error=""):
        step, self.current = self.current, None
        if step is None:
            return
        if outcome == "ok":
            AppliedMigration.objects.using(self.alias).filter(
                app_label=step.migration.app_label, migration_name=step.migration.name
            ).delete()
            if not step.backwards:
                _applied(
                    self.alias,
                    EVENT[step.kind],
                    self.started,
                    step.migration,
                    step.sha256,
                    signoff=step.signoff,
                    **self.signoff_fields(step),
                )
                return
        self.record(step, outcome, error)

    def record(self, step, outcome, error=""):
        audit.record(
            self.alias,
            EVENT[step.kind],
            outcome,
            self.started,
            app_label=step.migration.app_label,
            migration_name=step.migration.name,
            sha256=step.sha256,
            error=error,
            **self.signoff_fields(step),
        )

    def signoff_fields(self, step):
        """The audit fields that name the sign-off a step ran under, and the run."""
        signoff = step.signoff
        return {
            "signoff_id_ref": signoff.pk if signoff else None,
            "reviewer": signoff.reviewer_username if signoff else "",
            "acknowledged": signoff.acknowledged if signoff else [],
            "attempt": self.attempt,
        }


def _close_interrupted(alias, started):
    """Report runs that never finished and close each with an 'interrupted' row."""
    messages = []
    for start, in_flight in audit.unfinished_attempts(alias):
        message = audit.describe_unfinished(start, in_flight)
        audit.record(alias, "run", "interrupted", started, error=message, attempt=start.pk)
        messages.append(message)
    return messages


def _with_limits(alias, progress):
    """`progress`, after setting each migration's lock and statement timeouts as it starts."""

    def callback(action, migration=None, fake=False):
        if action in ("apply_start", "unapply_start"):
            apply_limits(alias, migration)
        progress(action, migration, fake)

    return callback


def _run_executor(plan, progress, verbosity=0):
    executor, alias = plan.executor, plan.alias
    executor.progress_callback = _with_limits(alias, progress)
    pairs = [(step.migration, step.backwards) for step in plan.steps]
    try:
        state = executor._create_project_state(with_applied_migrations=True)
        emit_pre_migrate_signal(verbosity, False, alias, apps=state.apps, plan=pairs)
        state = executor.migrate(plan.targets, plan=pairs, state=state.clone(), fake=plan.fake)
        state.clear_delayed_apps_cache()
        emit_post_migrate_signal(verbosity, False, alias, apps=state.apps, plan=pairs)
    finally:
        reset_limits(alias)


def _run_retrying(plan, attempt, rebuild):
    """Run `plan`; a migration cancelled by its lock timeout (and rolled back whole: atomic)
    is audited and run again with what remains, up to retries() times, then fails."""
    for retry in range(retries() + 1):
        progress = _Progress(plan.alias, plan.steps, attempt=attempt)
        try:
            _run_executor(plan, progress)
            return
        except Exception as exc:
            step = progress.current
            if not (is_lock_not_available(exc) and step and step.migration.atomic):
                raise _Failed(progress, exc) from exc
            if retry == retries():
                progress.finish("lock timeout", error=str(exc).strip())
                raise _Failed(progress, exc, timed_out=step, tries=retry + 1) from exc
            progress.finish("lock timeout", error=f"{str(exc).strip()}; tried again")
            back_off(retry + 1)
            plan = rebuild()
            if plan.refused:
                raise GateError("\n".join(plan.reasons)) from exc


class _Failed(Exception):
    """A migration failed; the step in flight is still open in `progress` (unless it
    `timed_out` waiting for its locks, `tries` times)."""

    def __init__(self, progress, error, timed_out=None, tries=0):
        super().__init__(str(error))
        self.progress, self.error, self.timed_out, self.tries = progress, error, timed_out, tries


def _failure(failed, plan, run, start):
    """Audit the failed run; the GateError that tells the operator (audited)."""
    exc, progress, step = failed.error, failed.progress, failed.timed_out
    if step is not None:
        waited = limits(step.migration)["lock_timeout"]
        message = (
            f"{step.label} could not take its locks within its lock_timeout of "
            f"{waited:g} s, {failed.tries} times; it was rolled back, the "
            "migrations before it were applied and audited, nothing after it ran. Find what "
            "holds locks on its tables (pg_locks), then run again, or raise its lock_timeout "
            "(GATE_LOCK_TIMEOUT or the migration's lock_timeout)."
        )
    else:
        failing = progress.current.label if progress.current else "the run"
        progress.finish("failed", error=f"{type(exc).__name__}: {exc}")
        message = (
            f"{failing} failed: {type(exc).__name__}: {exc}\nThe migrations before it "
            "were applied and audited; nothing after it ran. Fix the cause, have the "
            "fix signed off, and run again."
        )
    run("failed", detail=_describe(plan), error=str(exc), attempt=start.pk)
    failure = GateError(message)
    failure.audited = True
    return failure


def migrate_secure(alias, app_label=None, migration_name=None, *, fake=False, lock_wait=60):
    """Apply the plan when every check passes; return the Plan (refused plans apply nothing)."""
    started = timezone.now()
    require_gate_tables(alias)
    target = " ".join(x for x in (app_label, migration_name) if x) or "all apps"

    def run(outcome, **fields):
        """The run's own audit row (each migration has one of its own)."""
        return audit.record(alias, "run", outcome, started, **fields)

    try:
        with migration_lock(alias, lock_wait), system_scope("migration gate", database=False):
            # Rebuilt under the lock: another run may have applied part of it meanwhile.
            plan = build_plan(alias, app_label, migration_name, fake=fake)
            plan.interrupted = _close_interrupted(alias, started)
            _adopt(alias, plan.executor.loader, started)
            if plan.refused:
                reasons = "\n".join(plan.reasons + plan.ignored)
                run("refused", detail=f"target {target}: {_describe(plan)}", error=reasons)
                return plan
            if not plan.steps:
                # As Django's migrate does: post-migrate runs even with nothing pending, so
                # the owner recreates a missing content type or permission, and the app role's
                # writes to the tables only migrations write are taken back (gate.privileges).
                emit_post_migrate_signal(0, False, alias)
                run("nothing to do", detail=f"target {target}", error="\n".join(plan.ignored))
                return plan
            start = run("started", detail=_describe(plan), error="\n".join(plan.ignored))
            try:
                _run_retrying(
                    plan, start.pk, lambda: build_plan(alias, app_label, migration_name, fake=fake)
                )
            except _Failed as failed:
                raise _failure(failed, plan, run, start) from failed.error
            run("ok", detail=_describe(plan), attempt=start.pk)
            return plan
    except GateError as refusal:
        # Bad targets, conflicts and a busy lock are attempts too.
        if not getattr(refusal, "audited", False):
            run("refused", detail=target, error=str(refusal))
        raise


def rehearse(alias, app_label=None, migration_name=None, *, lock_wait=60):
    """Apply the plan inside one transaction and roll it back; return (plan, error or None)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        raise GateError(
            "--rehearse needs PostgreSQL (transactional DDL). On SQLite rehearse on a copy of "
            "the database file instead: copy it, point DATABASE_URL at the copy, run "
            "migrate_secure there."
        )
    started = timezone.now()
    require_gate_tables(alias)
    scope = system_scope("migration gate rehearsal", database=False)
    with migration_lock(alias, lock_wait), scope:
        plan = build_plan(alias, app_label, migration_name)
        if plan.refused:
            # Unsigned code is never run, not even inside a transaction that is rolled back.
            return plan, None
        non_atomic = [s.label for s in plan.steps if not s.migration.atomic]
        if non_atomic:
            raise GateError(
                f"Cannot rehearse {', '.join(non_atomic)}: non-atomic migrations cannot be "
                "rolled back."
            )
        tracker = _Progress(alias, plan.steps)
        tracker.finish = lambda *args, **kwargs: None  # a rehearsal records nothing per step
        error = None
        try:
            with transaction.atomic(using=alias):
                plan.executor.progress_callback = _with_limits(alias, tracker)
                pairs = [(step.migration, step.backwards) for step in plan.steps]
                plan.executor.migrate(plan.targets, plan=pairs)
                raise _Rollback
        except _Rollback:
            pass
        except Exception as exc:
            failing = tracker.current.label if tracker.current else "the plan"
            error = f"{failing} would fail: {type(exc).__name__}: {exc}"
        audit.record(
            alias,
            "rehearse",
            "failed" if error else "ok",
            started,
            detail=_describe(plan),
            error=error or "",
        )
        return plan, error


def bootstrap(alias, *, lock_wait=60):
    """On an empty database, apply only the gate, row-level security and their dependencies."""
    started = timezone.now()
    key = signing.gate_key()
    audit.ACTIVE_KEY_ID.set(signing.key_id(key))
    if gate_tables_exist(alias):
        raise GateError(
            f"The {described(alias)} is already bootstrapped; nothing was applied. Use "
            "`manage.py migrate_secure --plan`, then `manage.py migrate_secure`."
        )
    require_owner(alias)
    scope = system_scope("migration gate bootstrap", database=False)
    with migration_lock(alias, lock_wait), scope:
        executor = MigrationExecutor(connections[alias])
        graph = executor.loader.graph
        targets = [key for key in graph.leaf_nodes() if key[0] == "gate"]
        if connections[alias].vendor == "postgresql" and ROW_LEVEL_SECURITY in graph.nodes:
            targets.append(ROW_LEVEL_SECURITY)
        pairs = executor.migration_plan(targets)
        problems = drift_problems(executor.loader)
        hashes = []
        for migration, _ in pairs:
            sha = migration_sha256(migration)
            hashes.append((migration, sha))
            label = f"{migration.app_label}.{migration.name}"
            path = migration_file(migration)
            if not is_project_file(path):
                continue
            if released_sha256(migration.app_label, migration.name) != sha:
                problems.append(
                    f"{label} does not match the checked-in bootstrap manifest "
                    "(proone/gate/bootstrap.py); bootstrap applies only the released files "
                    "without sign-off: restore the file from git."
                )
            if require_committed() and not is_committed(path):
                problems.append(f"{label}: {path} is not committed; commit it first.")
        if problems:
            raise GateError("Bootstrap refused; nothing was applied.\n" + "\n".join(problems))
        steps = [Step(m, False, "apply", sha, []) for m, sha in hashes]
        plan = Plan(alias, executor, targets, steps, fake=False)
        _run_executor(plan, lambda *args, **kwargs: None)
        for migration, sha in hashes:
            package = package_of(migration)
            _applied(
                alias,
                "bootstrap",
                started,
                migration,
                sha,
                reviewer="(bootstrap: no sign-off)",
                detail=f"from {package}" if package else "",
            )
        detail = "; ".join(f"{m.app_label}.{m.name} {sha[:12]}" for m, sha in hashes)
        audit.record(
            alias,
            "bootstrap",
            "ok",
            started,
            detail=f"BOOTSTRAP without sign-offs of: {detail or 'nothing'}",
        )
        keys.register(alias, key)
        return plan
