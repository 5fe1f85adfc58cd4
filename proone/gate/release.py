"""One review for a release: every pending migration of the project's own apps, one password."""

from django.utils import timezone

from . import GateError, audit, keys
from .lint import codes_needing_ack
from .models import SignOff
from .plan import unsigned_steps
from .signoff import check_authors, check_reviewer, new_signoff, save_signoffs


def release_to_review(alias):
    """The plan's steps that apply one of the project's own migrations without a valid sign-off."""
    return unsigned_steps(alias, packages=False)


def describe(steps):
    """One line per migration the release covers (label, hash, lint codes), then its findings."""
    lines = []
    for step in steps:
        codes = ", ".join(f.code for f in step.findings) or "-"
        lines.append(f"{step.label:<60} sha256 {step.sha256[:16]}  {codes}")
        lines += [f"    {finding}" for finding in step.findings]
    return lines


def sign_off_release(alias, steps, reviewer_username, password, *, acknowledge=False, note=""):
    """Check the reviewer once and record a signed sign-off of each step's file: all or none.
    Findings that need acknowledgement refuse it before the reviewer is asked for anything."""
    if not steps:
        return []
    started = timezone.now()
    key = keys.current_key(alias)
    summary = f"release review of {len(steps)} migrations"
    with audit.refusals(alias, "signoff", started, reviewer=reviewer_username, detail=summary):
        needing = [
            f"{step.label} ({', '.join(codes_needing_ack(step.findings))})"
            for step in steps
            if codes_needing_ack(step.findings)
        ]
        if needing and not acknowledge:
            have = "has" if len(needing) == 1 else "have"
            raise GateError(
                f"{len(needing)} of these migrations {have} findings that need acknowledgement: "
                f"{', '.join(needing)}. Read them in the list above; if the data loss or risk is "
                "intended, run again with --acknowledge-findings. Nothing signed."
            )
        reviewer = check_reviewer(alias, reviewer_username, password, "this release")
        authors = check_authors(reviewer, [step.migration for step in steps])
        signoffs = [
            new_signoff(
                step.migration,
                step.sha256,
                reviewer,
                authors[step.label],
                key,
                kind=SignOff.Kind.APPLY,
                acknowledged=sorted({f.code for f in step.findings}) if acknowledge else [],
                note=f"{summary}. {note}".strip(),
            )
            for step in steps
        ]
    return save_signoffs(alias, signoffs, started, context=f"{summary}; ")
