"""What git knows about a file: whether it is committed unchanged, and who wrote it."""

import shutil
import subprocess
from functools import cache
from pathlib import Path


def _git(cwd, *args):
    if shutil.which("git") is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 (fixed git arguments, no shell)
            ["git", "-C", str(cwd), *args],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result


def is_committed(path):
    """True when `path` is tracked by git and identical to the committed version."""
    path = Path(path)
    tracked = _git(path.parent, "ls-files", "--error-unmatch", "--", path.name)
    if tracked is None or tracked.returncode != 0:
        return False
    clean = _git(path.parent, "diff", "--quiet", "HEAD", "--", path.name)
    return clean is not None and clean.returncode == 0


def authors(path):
    """Every (name, email) that committed a change to `path`; empty when not committed."""
    path = Path(path)
    log = _git(path.parent, "log", "--follow", "--format=%an%x09%ae", "--", path.name)
    if log is None or log.returncode != 0:
        return []
    found = []
    for line in log.stdout.splitlines():
        name, _, email = line.partition("\t")
        if (name, email) not in found:
            found.append((name.strip(), email.strip()))
    return found


@cache
def head_commit(cwd):
    """The commit checked out in `cwd`, or '' outside a git work tree."""
    result = _git(cwd, "rev-parse", "HEAD")
    return result.stdout.strip() if result is not None and result.returncode == 0 else ""
