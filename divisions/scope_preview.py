"""
What saving a DataScope form would change, before it is saved: who gains or loses sight of
the division's jobs.

The scope is written inside a savepoint that is always rolled back, and divisions.audience's
audience_of() is asked before and inside it, so the answer comes from the rule itself (and on
PostgreSQL from the admin's own principal and row-level security), never from a restatement.
"""

import copy
from dataclasses import dataclass

from django.db import transaction

from .admin_display import plural
from .audience import audience_of


@dataclass(frozen=True)
class Shift:
    """The users who would gain (or lose) sight, grouped as audience_of() groups them."""

    groups: tuple

    @property
    def divisions(self):
        return [group.division for group in self.groups if group.division is not None]

    @property
    def users(self):
        return sum(group.users for group in self.groups)

    @property
    def divisionless(self):
        """True when users without a division are among them (an "everyone" switch)."""
        return any(group.division is None and not group.is_tenant_admin for group in self.groups)

    def __bool__(self):
        return bool(self.groups)


@dataclass(frozen=True)
class Preview:
    """The effect of a DataScope change on who sees its division's jobs; `jobs` is how many
    jobs that is (None where the caller does not count jobs)."""

    gained: Shift
    lost: Shift
    jobs: int | None

    def line(self, sign, shift):
        """'+1 division (Plumbing), 4 users, 12 jobs'."""
        names = ", ".join(str(division) for division in shift.divisions)
        if shift.divisionless:
            names = f"{names} and users without a division" if names else "users without a division"
        parts = [f"{sign}{plural(len(shift.divisions), 'division')} ({names})"]
        parts.append(plural(shift.users, "user"))
        if self.jobs is not None:
            parts.append(plural(self.jobs, "job"))
        return ", ".join(parts)

    def lines(self):
        """The preview in words: one line for the gain, one for the loss, or that nothing moves."""
        lines = []
        if self.gained:
            lines.append(self.line("+", self.gained))
        if self.lost:
            lines.append(self.line("-", self.lost))
        return lines or ["Nobody gains or loses sight of this division's jobs."]

    def as_json(self):
        def shift(value):
            return {
                "divisions": [str(division) for division in value.divisions],
                "divisionless": value.divisionless,
                "users": value.users,
            }

        return {
            "gained": shift(self.gained),
            "lost": shift(self.lost),
            "jobs": self.jobs,
            "lines": self.lines(),
        }


def _by_group(groups):
    return {(getattr(group.division, "pk", None), group.is_tenant_admin): group for group in groups}


def preview(scope, is_everyone, divisions, count_jobs=None):
    """Who would gain and lose sight of `scope`'s division's jobs if the scope were saved with
    `is_everyone` and exactly `divisions` listed. Nothing is kept: the write is rolled back.
    `count_jobs(division)` says how many jobs that is."""
    division = scope.target_division
    before = _by_group(audience_of(division))
    # A copy, so the caller's instance (a form's) keeps its own values.
    trial = copy.copy(scope)
    with transaction.atomic():
        trial.is_everyone = is_everyone
        trial.save(update_fields=["is_everyone"])
        trial.set_divisions(divisions)
        after = _by_group(audience_of(division))
        transaction.set_rollback(True)
    gained = tuple(group for key, group in after.items() if key not in before)
    lost = tuple(group for key, group in before.items() if key not in after)
    jobs = count_jobs(division) if count_jobs is not None and (gained or lost) else None
    return Preview(Shift(gained), Shift(lost), jobs)
