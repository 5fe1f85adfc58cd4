"""Review every pending migration of installed packages (Django, guardian, axes) as one set."""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from proone.gate import GateError
from proone.gate.connection import default_alias, gate_environment
from proone.gate.packages import describe, packages_to_review, review_packages


class Command(BaseCommand):
    help = (
        "Sign off, as one set, every pending migration of installed packages (Django's contrib "
        "apps, guardian, axes...), bound to each package's version and each file's SHA-256. "
        "The project's own migrations are signed off one by one with signoff_migration."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reviewer", required=True, help="Your username.")
        parser.add_argument(
            "--acknowledge-findings",
            "--acknowledge-destructive",  # the name signoff_migration used to have
            dest="acknowledge_findings",
            action="store_true",
            help="Accept every lint finding of these migrations (their codes are recorded).",
        )
        parser.add_argument("--note", default="", help="Why this is fine, for the audit log.")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from stdin."
        )
        parser.add_argument("--database", default=None)

    def handle(self, *args, **options):
        alias = options["database"] or default_alias()
        try:
            gate_environment()
            steps = packages_to_review(alias)
            if steps:
                self.stdout.write(f"This review covers {len(steps)} migrations:")
                self.stdout.write("\n".join(describe(steps)))
            password = self._password(options) if steps else ""
            signoffs = review_packages(
                alias,
                steps,
                options["reviewer"],
                password,
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

    def _password(self, options):
        if options["password_stdin"]:
            return sys.stdin.readline().rstrip("\r\n")
        if sys.stdin.isatty():
            return getpass.getpass(f"Password for {options['reviewer']}: ")
        raise CommandError("No terminal to ask the password on: pass --password-stdin.")
