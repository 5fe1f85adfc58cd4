"""Settings for the gate's subprocess tests: the test settings plus a sample app from a temp dir.

GATE_SAMPLE_APP=1 installs `sampleapp` (found on PYTHONPATH, in the test's temp dir);
GATE_PROTECTED=1 turns MIGRATIONS_REQUIRE_SIGNOFF on.
"""

import os

from tests.settings import *  # noqa: F403

if os.environ.get("GATE_SAMPLE_APP") == "1":
    INSTALLED_APPS = [*INSTALLED_APPS, "sampleapp"]  # noqa: F405

MIGRATIONS_REQUIRE_SIGNOFF = os.environ.get("GATE_PROTECTED") == "1"
LOGGING = {"version": 1, "disable_existing_loggers": False}
