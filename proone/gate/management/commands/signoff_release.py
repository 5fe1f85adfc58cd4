"""Sign off every pending migration of the project's own apps in one review, one password."""

from django.core.management.base import BaseCommand, CommandError

from proone.gate import GateError
from proone.gate.connection import default_alias, gate_environment
from proone.gate.release import describe, release_to_review, sign_off_release
from proone.gate.reviewer_prompt import add_reviewer_arguments, read_password


def migrations(count):
    return f"{count} migration{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Sign off, in one review with one password, every pending migration of the project's "
        "own apps: lists them with their lint findings first, then records one signed sign-off "
        "per file, bound to its SHA-256. Refuses as a whole (signs nothing) when you are an "
        "author of any of them or findings need --acknowledge-findings."
    )

    def add_arguments(self, parser):
        add_reviewer_arguments(parser)

    def handle(self, *args, **options):
        alias = options["database"] or default_alias()
        try:
            gate_environment(alias)
            steps = release_to_review(alias)
            if not steps:
                self.stdout.write(
                    "Nothing to sign off: every pending migration of the project's own apps "
                    "already has a valid sign-off."
                )
                return
            self.stdout.write(f"This release has {migrations(len(steps))} to sign off:")
            self.stdout.write("\n".join(describe(steps)))
            signoffs = sign_off_release(
                alias,
                steps,
                options["reviewer"],
                lambda: read_password(options),
                acknowledge=options["acknowledge_findings"],
                note=options["note"],
            )
        except GateError as refusal:
            raise CommandError(str(refusal)) from None
        for signoff in signoffs:
            acknowledged = ", ".join(signoff.acknowledged) or "none"
            self.stdout.write(
                f"  {signoff.app_label}.{signoff.migration_name}: sign-off #{signoff.pk}, "
                f"acknowledged {acknowledged}, author {signoff.author}"
            )
        self.stdout.write(
            f"Signed off {migrations(len(signoffs))} as {signoffs[0].reviewer_username}."
        )
