"""
The load run's floor: the same portal with the division rule and row-level security off.

gunicorn serves this module instead of proone.wsgi, with DATABASE_URL naming a role that
bypasses row-level security (the throwaway cluster's superuser). Jobs and notes are then
filtered by tenant only (the manager the "unscoped page" rows use), and no request opens a
transaction or sends a principal: what a multi-tenant portal without divisions would run.
Nothing in the product imports this module (tests/test_layering.py), and it refuses to start
unless BENCH_UNSCOPED_PORTAL=1 is set, so no production setting can reach it.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

if os.environ.get("BENCH_UNSCOPED_PORTAL") != "1":
    raise ImproperlyConfigured(
        "benchmarks.unscoped_wsgi turns access control off: it is for `make bench` only "
        "(set BENCH_UNSCOPED_PORTAL=1 there); serve proone.wsgi instead."
    )

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proone.settings")
application = get_wsgi_application()


def turn_scoping_off():
    """Jobs and notes filtered by tenant only; no transaction or principal per request."""
    from divisions import rls
    from divisions.managers import ScopedManager
    from jobs.managers import JobManager, JobNoteManager

    JobManager.scope_filter = ScopedManager.scope_filter
    JobNoteManager.scope_filter = ScopedManager.scope_filter
    rls.enforced = lambda using=None: False


turn_scoping_off()
