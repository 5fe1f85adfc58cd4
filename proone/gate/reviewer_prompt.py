"""The reviewer's options and password prompt that both sign-off commands share."""

import getpass
import sys

from django.core.management.base import CommandError


def add_reviewer_arguments(parser):
    """--reviewer, --acknowledge-findings, --note, --password-stdin and --database."""
    parser.add_argument("--reviewer", required=True, help="Your username.")
    parser.add_argument(
        "--acknowledge-findings",
        "--acknowledge-destructive",  # the former name, kept for existing scripts
        dest="acknowledge_findings",
        action="store_true",
        help="Accept every lint finding of what you sign off (their codes are recorded).",
    )
    parser.add_argument("--note", default="", help="Why this is fine, for the audit log.")
    parser.add_argument(
        "--password-stdin", action="store_true", help="Read the password from stdin."
    )
    parser.add_argument("--database", default=None)


def read_password(options):
    """The reviewer's password: one line of stdin, or asked on the terminal."""
    if options["password_stdin"]:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {options['reviewer']}: ")
    raise CommandError("No terminal to ask the password on: pass --password-stdin.")
