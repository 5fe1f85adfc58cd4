"""Reviewing the pending migrations of installed packages as one set, bound to release and hash."""

from django.utils import timezone

from . import GateError, audit, keys
from .models import SignOff
from .plan import package_author, unsigned_steps
from .signoff import check_reviewer, new_signoff, save_signoffs


def packages_to_review(alias):
    """The plan's steps that apply an installed package's migration without a valid sign-off."""
    return unsigned_steps(alias, packages=True)


def describe(steps):
    """One line per migration the review covers: package release, label, hash, findings."""
    lines = []
    for step in steps:
        codes = ", ".join(f.code for f in step.findings) or "-"
        lines.append(f"{step.package:<28} {step.label:<60} sha256 {step.sha256[:16]}  {codes}")
        lines += [f"    {finding}" for finding in step.findings if finding.needs_ack]
    return lines


def review_packages(alias, steps, reviewer_username, password, *, acknowledge=False, note=""):
    """Record one reviewer's signed sign-off of every step in `steps` (a package set)."""
    started = timezone.now()
    key = keys.current_key(alias)
    releases = sorted({step.package for step in steps})
    summary = f"package review of {len(steps)} migrations from {', '.join(releases)}"
    with audit.refusals(alias, "signoff", started, reviewer=reviewer_username, detail=summary):
        if not steps:
            raise GateError(
                "No migration of an installed package is waiting for review; nothing signed."
            )
        needing = [step.label for step in steps if any(f.needs_ack for f in step.findings)]
        if needing and not acknowledge:
            raise GateError(
                f"{len(needing)} of these migrations have findings that need acknowledgement "
                f"({', '.join(needing)}); after reading them, run again with "
                "--acknowledge-findings. Nothing signed."
            )
        reviewer = check_reviewer(alias, reviewer_username, password, "these migrations")
        signoffs = [
            new_signoff(
                step.migration,
                step.sha256,
                reviewer,
                package_author(step.package),
                key,
                kind=SignOff.Kind.APPLY,
                acknowledged=sorted({f.code for f in step.findings}) if acknowledge else [],
                note=f"{summary}. {note}".strip(),
            )
            for step in steps
        ]
    return save_signoffs(alias, signoffs, started, f"{summary}; ")
