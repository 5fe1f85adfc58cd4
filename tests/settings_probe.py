"""proone.settings as a fresh process builds it from an environment (settings read env once)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def settings_print(expression, *, unset_prefix, **environment):
    """The completed process that prints `expression` (of `s`, the settings) from
    proone.settings, with this environment's variables starting with `unset_prefix` removed
    and `environment` added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset_prefix)}
    env.update(environment, SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="proone.settings")
    return subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", f"from django.conf import settings as s; print({expression})"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
