"""What the gate takes from the project it guards, named by settings so that it imports none
of the project's apps: the system scope its work runs in (GATE_SYSTEM_SCOPE), the tables
the app role may only read (GATE_APP_READS_ONLY), the project's lists of the access review
(GATE_ACCESS_REVIEW), the tables under row-level security (GATE_ROW_SECURITY) and the apps
whose tables hold tenants' rows (GATE_TENANT_APPS)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

SYSTEM_SCOPE = "GATE_SYSTEM_SCOPE"
APP_READS_ONLY = "GATE_APP_READS_ONLY"
ACCESS_REVIEW = "GATE_ACCESS_REVIEW"
ROW_SECURITY = "GATE_ROW_SECURITY"
TENANT_APPS = "GATE_TENANT_APPS"


def system_scope(reason, *, database=True):
    """The project's system scope for the gate's work, `reason` logged; database=False for
    work on the gate's own connection only (no transaction on the app's)."""
    return _named(SYSTEM_SCOPE)(reason, database=database)


def app_reads_only():
    """The tables only migrations write, which the app role may read and nothing more."""
    return tuple(_named(APP_READS_ONLY))


def access_review_sections():
    """The project's function f(alias, catalog=...) -> [(key, title, rows, rows are users)]."""
    return _named(ACCESS_REVIEW)


def row_security_tables():
    """The tables the project's database source puts under row-level security."""
    return frozenset(_named(ROW_SECURITY)())


def tenant_apps():
    """The app labels whose tables hold tenants' rows (none when the setting is absent)."""
    return frozenset(getattr(settings, TENANT_APPS, ()))


def setting_problems():
    """(setting, what is wrong) for each of the gate's project settings that is unusable."""
    problems = []
    for name, usable, expected in (
        (SYSTEM_SCOPE, callable, "a context manager factory called as f(reason, database=...)"),
        (APP_READS_ONLY, _table_names, "a list or tuple of table names"),
        (ACCESS_REVIEW, callable, "a function called as f(alias, catalog=...)"),
        (ROW_SECURITY, callable, "a function that returns the table names"),
    ):
        try:
            value = _named(name)
        except ImproperlyConfigured as error:
            problems.append((name, str(error)))
            continue
        if not usable(value):
            problems.append((name, f"{name} = {getattr(settings, name)!r} is not {expected}."))
    labels = getattr(settings, TENANT_APPS, ())
    if not _table_names(labels):
        problems.append(
            (TENANT_APPS, f"{TENANT_APPS} = {labels!r} is not a list or tuple of app labels.")
        )
    return problems


def _table_names(value):
    return isinstance(value, list | tuple) and all(isinstance(name, str) for name in value)


def _named(name):
    """The object the dotted path in setting `name` names."""
    path = getattr(settings, name, None)
    if not isinstance(path, str) or not path:
        raise ImproperlyConfigured(f"{name} is not set: name a dotted path in the settings.")
    try:
        return import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"{name} = {path!r} cannot be imported: {error}") from error
