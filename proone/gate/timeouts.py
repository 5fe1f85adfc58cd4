"""How long a migration may wait for a lock and run one statement (PostgreSQL), and how often a
lock timeout is retried.

settings.GATE_LOCK_TIMEOUT and GATE_STATEMENT_TIMEOUT (seconds; 0 means no limit) hold for
every migration; a migration overrides them with class attributes of the same meaning:

    class Migration(migrations.Migration):
        lock_timeout = 30        # seconds this migration may wait for each lock
        statement_timeout = 0    # its data backfill may run as long as it must
"""

import time

from django.conf import settings
from django.db import connections

DEFAULTS = {"lock_timeout": 5.0, "statement_timeout": 600.0}


def limits(migration):
    """{'lock_timeout': seconds, 'statement_timeout': seconds} for `migration`."""
    return {
        name: float(getattr(migration, name, getattr(settings, f"GATE_{name.upper()}", default)))
        for name, default in DEFAULTS.items()
    }


def apply_limits(alias, migration):
    """Set `migration`'s limits on the session that runs it (until reset_limits)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name, seconds in limits(migration).items():
            cursor.execute("SELECT set_config(%s, %s, false)", [name, f"{int(seconds * 1000)}ms"])


def reset_limits(alias):
    connection = connections[alias]
    if connection.vendor == "postgresql" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout; RESET statement_timeout")


def retries():
    """How many times a migration that hit its lock timeout is run again (settings)."""
    return int(getattr(settings, "GATE_LOCK_RETRIES", 3))


def back_off(attempt):
    """Wait before retry `attempt` (1, 2, ...): 1 s, 2 s, 4 s ... at most 30 s."""
    time.sleep(min(2 ** (attempt - 1), 30))
