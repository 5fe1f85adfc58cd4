"""Review every pending migration of installed packages (Django, guardian, axes) as one set."""

from django.core.management.base import BaseCommand, CommandError

from proone.gate import GateError
from proone.gate.connection import default_alias, gate_environment
from proone.gate.packages import describe, packages_to_review, review_packages
from proone.gate.reviewer_prompt import add_reviewer_arguments, read_password


class Command(BaseCommand):
    help = (
        "Sign off, as one set, every pending migration of installed packages (Django's contrib "
        "apps, guardian, axes...), bound to each package's version and each file's SHA-256. "
        "The project's own migrations are signed off with signoff_release (every pending one) "
        "or signoff_migration (one)."
    )

    def add_arguments(self, parser):
        add_reviewer_arguments(parser)

    def handle(self, *args, **options):
        alias = options["database"] or default_alias()
        try:
            gate_environment(alias)
            steps = packages_to_review(alias)
            if steps:
                self.stdout.write(f"This review covers {len(steps)} migrations:")
                self.stdout.write("\n".join(describe(steps)))
            signoffs = review_packages(
                alias,
                steps,
                options["reviewer"],
                lambda: read_password(options),
                acknowledge=options["acknowledge_findings"],
                note=options["note"],
            )
        except GateError as refusal:
            raise CommandError(str(refusal)) from None
        releases = ", ".join(
            sorted({s.author.removeprefix("installed package ") for s in signoffs})
        )
        self.stdout.write(
            f"Signed off {len(signoffs)} migrations of {releases} as "
            f"{signoffs[0].reviewer_username}: sign-offs #{signoffs[0].pk}-#{signoffs[-1].pk}."
        )
