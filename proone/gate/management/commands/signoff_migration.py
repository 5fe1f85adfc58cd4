"""Record a reviewer's sign-off of one migration file (bound to its SHA-256)."""

from django.core.management.base import BaseCommand, CommandError

from proone.gate import GateError
from proone.gate.connection import default_alias, gate_environment
from proone.gate.models import SignOff
from proone.gate.reviewer_prompt import add_reviewer_arguments, read_password
from proone.gate.signoff import sign_off


class Command(BaseCommand):
    help = (
        "Sign off a migration as its reviewer: checks your password and permission, that you "
        "are not its author, and records the SHA-256 of the file as it is now."
    )

    def add_arguments(self, parser):
        parser.add_argument("app_label")
        parser.add_argument("migration_name")
        add_reviewer_arguments(parser)
        parser.add_argument(
            "--privileged",
            choices=[SignOff.Kind.FAKE, SignOff.Kind.UNAPPLY],
            help="Sign off faking it (--fake) or unapplying it (backwards/zero) instead.",
        )

    def handle(self, *args, **options):
        alias = options["database"] or default_alias()
        try:
            gate_environment(alias)
        except GateError as refusal:
            raise CommandError(str(refusal)) from None
        password = read_password(options)
        try:
            signoff = sign_off(
                alias,
                options["app_label"],
                options["migration_name"],
                options["reviewer"],
                password,
                kind=options["privileged"] or SignOff.Kind.APPLY,
                acknowledge_findings=options["acknowledge_findings"],
                note=options["note"],
            )
        except GateError as refusal:
            raise CommandError(str(refusal)) from None
        acknowledged = ", ".join(signoff.acknowledged) or "none"
        self.stdout.write(
            f"Signed off {signoff.app_label}.{signoff.migration_name} ({signoff.kind}) as "
            f"{signoff.reviewer_username}: sha256 {signoff.sha256}, acknowledged {acknowledged}, "
            f"author {signoff.author}. Sign-off #{signoff.pk}."
        )
