"""The migration gate: schema changes only with a reviewer's sign-off, linted, locked, audited."""

VERSION = "proone-gate 1.0"
