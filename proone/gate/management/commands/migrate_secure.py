"""Apply pending migrations only when each one has a valid sign-off; audited and locked."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from proone.gate import GateError
from proone.gate.anchor import anchor_path
from proone.gate.connection import default_alias, described, gate_environment
from proone.gate.execute import bootstrap, migrate_secure, rehearse
from proone.gate.keys import audit_problems, rotate
from proone.gate.lock import migration_lock
from proone.gate.plan import build_plan, require_gate_tables
from proone.gate.restore import record_restore, restore_notes


def plan_table(plan, sql=False):
    """The plan as text: migration, action, sign-off state, lint findings (and SQL)."""
    if not plan.steps:
        return "No migrations to apply.\n"
    lines = [f"{'Migration':<45} {'Action':<8} {'Sign-off':<34} Lint"]
    for step in plan.steps:
        signoff = step.state
        if step.signoff is not None:
            signoff += f" ({step.signoff.reviewer_username}, #{step.signoff.pk})"
        lint = ", ".join(f.code for f in step.findings) or "-"
        lines.append(f"{step.label:<45} {step.kind:<8} {signoff:<34} {lint}")
        lines += [f"    {finding}" for finding in step.findings]
        if sql:
            statements = plan.executor.loader.collect_sql([(step.migration, step.backwards)])
            lines += [f"    | {line}" for s in statements for line in s.splitlines()]
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = (
        "Apply pending migrations only when every one has a valid sign-off (see "
        "docs/migrations.md). Exit 0 when done or nothing to do, 1 when refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("app_label", nargs="?")
        parser.add_argument("migration_name", nargs="?", help="Target; 'zero' unapplies all.")
        parser.add_argument("--plan", action="store_true", help="Show the plan; apply nothing.")
        parser.add_argument("--sql", action="store_true", help="With --plan: show the SQL.")
        parser.add_argument("--database", default=None)
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")
        parser.add_argument(
            "--rehearse", action="store_true", help="Apply and roll back (PostgreSQL)."
        )
        parser.add_argument(
            "--lock-wait",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="How long to wait for another run's migration lock (default 60), then refuse.",
        )
        parser.add_argument(
            "--fake", action="store_true", help="Record as applied without running them."
        )
        parser.add_argument(
            "--bootstrap", action="store_true", help="Empty database: install the gate itself."
        )
        parser.add_argument(
            "--rotate-key",
            action="store_true",
            help="Make GATE_SIGNING_KEY the gate key (the old one in GATE_SIGNING_KEY_FALLBACKS).",
        )
        parser.add_argument(
            "--record-restore",
            action="store_true",
            help="After restoring an older backup: record, signed, the restored row and the "
            "anchored rows lost with it (needs --reason).",
        )
        parser.add_argument("--reason", default="", help="With --record-restore: why.")
        parser.add_argument(
            "--verify-audit",
            action="store_true",
            help="Check the audit log: hash chain, anchored head, unfinished runs, sign-offs.",
        )

    def handle(self, *args, **options):
        alias = options["database"] or default_alias()
        if alias not in connections.settings:
            raise CommandError(f"There is no database {alias!r} in settings.DATABASES.")
        if options["migration_name"] and not options["app_label"]:
            raise CommandError("Give the app label before the migration name.")
        try:
            self._handle(alias, options)
        except GateError as refusal:
            raise CommandError(str(refusal)) from None

    def _handle(self, alias, options):
        gate_environment(alias)
        target = options["app_label"], options["migration_name"]
        if options["bootstrap"]:
            plan = bootstrap(alias, lock_wait=options["lock_wait"])
            self.stdout.write(
                f"Bootstrapped the {described(alias)}: applied {len(plan.steps)} migrations "
                "without sign-off (audited). From now on use migrate_secure."
            )
            return
        if options["rotate_key"]:
            require_gate_tables(alias)
            with migration_lock(alias, options["lock_wait"]):
                row = rotate(alias)
            self.stdout.write(
                f"Rotated the gate key of the {described(alias)} (audit row #{row.pk}): "
                f"{row.detail.split('; ')[0]}. Keep the retired key in GATE_SIGNING_KEY_FALLBACKS."
            )
            return
        if options["record_restore"]:
            require_gate_tables(alias)
            with migration_lock(alias, options["lock_wait"]):
                row = record_restore(alias, options["reason"])
            self.stdout.write(
                f"Recorded the restore (audit row #{row.pk}): {restore_notes(alias)[-1]}."
            )
            return
        if options["verify_audit"]:
            require_gate_tables(alias)
            # Under the lock: a run in progress is not mistaken for one that was killed.
            with migration_lock(alias, options["lock_wait"]):
                problems = audit_problems(alias)
                notes = restore_notes(alias)
            for note in notes:
                self.stdout.write(f"Note: {note}.")
            if problems:
                raise CommandError(
                    "Audit log is BROKEN:\n" + "\n".join(f"- {p}" for p in problems), returncode=1
                )
            if anchor_path() is None:
                self.stderr.write(
                    "No GATE_AUDIT_ANCHOR: the removal of the newest rows cannot be detected."
                )
            self.stdout.write("Audit log chain intact.")
            return
        if options["plan"] or options["sql"]:
            require_gate_tables(alias)
            plan = build_plan(alias, *target, fake=options["fake"])
            self.stdout.write(plan_table(plan, sql=options["sql"]))
            self._report(plan, planned=True)
            return
        if options["rehearse"]:
            plan, error = rehearse(alias, *target, lock_wait=options["lock_wait"])
            self.stdout.write(plan_table(plan))
            self._report(plan, planned=True)
            if error:
                raise CommandError(f"Rehearsal: {error}\nNothing was changed.", returncode=1)
            self.stdout.write("Rehearsal passed and was rolled back; nothing was changed.")
            return
        if options["interactive"] and sys.stdin.isatty():
            require_gate_tables(alias)
            preview = build_plan(alias, *target, fake=options["fake"])
            self.stdout.write(plan_table(preview))
            if preview.steps and not preview.refused:
                answer = input(
                    f"Apply these {len(preview.steps)} migrations to the {described(alias)}? [y/N] "
                )
                if answer.strip().lower() not in ("y", "yes"):
                    raise CommandError("Cancelled; nothing was applied.")
        plan = migrate_secure(alias, *target, fake=options["fake"], lock_wait=options["lock_wait"])
        self._report(plan)
        if not plan.steps:
            self.stdout.write("No migrations to apply.")
            return
        for step in plan.steps:
            self.stdout.write(f"  {step.kind} {step.label} OK")
        self.stdout.write(self.style.SUCCESS(f"Applied {len(plan.steps)} migrations."))

    def _report(self, plan, planned=False):
        """Warnings, then the refusal if any: this run's, or (`planned`: a plan or a rehearsal,
        which apply nothing anyway) the one `migrate_secure` would give."""
        for message in plan.interrupted:
            self.stderr.write(f"WARNING: an earlier {message}")
        for message in plan.ignored:
            self.stderr.write(f"WARNING: {message}")
        if plan.refused:
            outcome = "migrate_secure would refuse" if planned else "nothing was applied to"
            raise CommandError(
                f"REFUSED: {outcome} the {described(plan.alias)}. Reasons:\n"
                + "\n".join(f"- {reason}" for reason in plan.reasons),
                returncode=1,
            )
