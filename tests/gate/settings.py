"""Settings for the gate's subprocess tests: the test settings plus a sample app from a temp dir.

GATE_SAMPLE_APP=<label> installs that sample app (found on PYTHONPATH, in the test's temp dir);
GATE_PROTECTED=1 turns MIGRATIONS_REQUIRE_SIGNOFF on.
"""

import os

from tests.settings import *  # noqa: F403

if os.environ.get("GATE_SAMPLE_APP"):
    INSTALLED_APPS = [*INSTALLED_APPS, os.environ["GATE_SAMPLE_APP"]]  # noqa: F405

MIGRATIONS_REQUIRE_SIGNOFF = os.environ.get("GATE_PROTECTED") == "1"
LOGGING = {"version": 1, "disable_existing_loggers": False}
