"""List who holds access to the portal and its migrations; optionally attest the review."""

from django.core.management.base import BaseCommand, CommandError

from proone.gate import GateError
from proone.gate.access_review import FORMATS, build
from proone.gate.attestation import attest
from proone.gate.connection import default_alias, gate_environment
from proone.gate.reviewer_prompt import read_password


class Command(BaseCommand):
    help = (
        "List who may sign off migrations, superusers, staff, tenant admins, division managers, "
        "privileged accounts not in use and (PostgreSQL, owner connection) the database roles "
        "and the app role's privilege drift. --attest records the signed review in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(FORMATS), default="text")
        parser.add_argument(
            "--unused-days",
            type=int,
            default=90,
            help="A privileged account without a sign-in for this many days is listed as unused.",
        )
        parser.add_argument(
            "--attest", action="store_true", help="Record that you reviewed this list."
        )
        parser.add_argument("--reviewer", help="With --attest: your username.")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from stdin."
        )
        parser.add_argument("--database", default=None)

    def handle(self, *args, **options):
        if options["attest"] and not options["reviewer"]:
            raise CommandError("--attest needs --reviewer USERNAME (who holds the sign-off right).")
        if options["unused_days"] < 1:
            raise CommandError("--unused-days must be at least 1.")
        alias = options["database"] or default_alias()
        report = build(alias, unused_days=options["unused_days"])
        self.stdout.write(FORMATS[options["format"]](report))
        if not options["attest"]:
            return
        try:
            gate_environment(alias)
            entry = attest(alias, report, options["reviewer"], lambda: read_password(options))
        except GateError as refusal:
            raise CommandError(str(refusal)) from None
        self.stderr.write(
            f"Attested the access review (digest {entry.sha256}) as {entry.reviewer}: "
            f"audit row #{entry.pk}."
        )
