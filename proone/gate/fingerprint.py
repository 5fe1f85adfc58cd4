"""Where a migration's file is and the SHA-256 of its content (line endings normalised)."""

import hashlib
import importlib.metadata
import inspect
from pathlib import Path


def normalised_sha256(data):
    """SHA-256 of `data` with CRLF and CR as LF: a checkout's line endings don't count."""
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data).hexdigest()


def migration_file(migration):
    """The path of the file that defines `migration` (a Migration instance)."""
    module = inspect.getmodule(type(migration))
    path = getattr(module, "__file__", None)
    if not path:
        raise FileNotFoundError(f"{migration.app_label}.{migration.name} has no source file")
    return Path(path).resolve()


def is_project_file(path):
    """True for the project's own files; False for installed packages (Django, guardian...)."""
    parts = Path(path).resolve().parts
    return "site-packages" not in parts and "dist-packages" not in parts


def migration_sha256(migration):
    """SHA-256 of the current bytes of `migration`'s file on disk."""
    return normalised_sha256(migration_file(migration).read_bytes())


def package_of(migration):
    """The installed distribution shipping `migration`, as `name==version`; None for ours."""
    path = migration_file(migration)
    if is_project_file(path):
        return None
    top = type(migration).__module__.split(".")[0]
    names = importlib.metadata.packages_distributions().get(top) or [top]
    return f"{names[0]}=={importlib.metadata.version(names[0])}"
