"""The migration gate: schema changes only with a reviewer's sign-off, linted, locked, audited."""

VERSION = "proone-gate 1.0"


class GateError(Exception):
    """The gate refuses; the message names the migration and says what to do next."""
