"""The released history: a checkout of the last release before the squashed migrations, whose
newest migrations are divisions 0015, jobs 0006 and api 0002. Databases it migrated must move on
with the squashed tree without running anything again."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RELEASED = "c8f15b58809156c786fb3504a03b5bdc464585b6"
# Recorded as applied once every migration each replaces is.
SQUASHED = {
    ("divisions", "0001_squashed_0002_organisation"),
    ("divisions", "0003_squashed_0005_same_tenant_keys"),
    ("divisions", "0006_squashed_0015_database_layer"),
    ("jobs", "0001_squashed_0002_jobs"),
    ("jobs", "0003_squashed_0006_notes"),
    ("api", "0001_squashed_0002_tokens"),
}


def released_checkout(directory):
    """The released commit's files in `directory` (from this clone's history)."""
    archive = subprocess.run(  # noqa: S603
        ["git", "archive", RELEASED],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.fail(f"The released commit {RELEASED} is not in this clone's history.")
    subprocess.run(  # noqa: S603
        ["tar", "-x", "-C", str(directory)],  # noqa: S607
        input=archive.stdout,
        check=True,
    )
    return Path(directory)


# The newest migration of each app in the released history (0: an app added since).
RELEASED_NEWEST = {"divisions": 15, "jobs": 6, "api": 2, "submits": 0}


def added_since():
    """(app, name) of every project migration after the released history."""
    return {
        (app, path.stem)
        for app, newest in RELEASED_NEWEST.items()
        for path in (ROOT / app / "migrations").glob("0*.py")
        if "squashed" not in path.stem and int(path.stem[:4]) > newest
    }


def generated_since():
    """The divisions migrations generated after the squashed history, oldest first."""
    return sorted(
        path.stem
        for path in (ROOT / "divisions" / "migrations").glob("0*.py")
        if "squashed" not in path.stem and int(path.stem[:4]) > 15
    )
