"""A status change's note, and what a change from a stale page is told instead of writing."""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateformat import format as date_format

# The note a status change leaves: the status it really replaced, the new one, and who.
NOTE = "status: {before} → {after}, by {by}"
NOTE_START = "status: "


class StatusChanged(Exception):
    """The stored status is no longer the one the change started from: nothing was written."""


def note_body(before, after, by):
    return NOTE.format(before=before.label.lower(), after=after.label.lower(), by=by)


@dataclass(frozen=True)
class StatusConflict:
    """A job's status now, and who set it when, from its latest status note (if any)."""

    status: str
    label: str
    by: str | None
    at: object  # datetime or None

    @property
    def message(self):
        when = ""
        if self.at is not None:
            local = timezone.localtime(self.at)
            today = local.date() == timezone.localdate()
            when = f" at {date_format(local, 'H:i' if today else 'j M Y, H:i')}"
        who = f" by {self.by}" if self.by else ""
        return (
            f"This job was changed to {self.label}{who}{when} while you were looking at it; "
            "nothing was changed."
        )


def status_conflict(job):
    """What a change from a stale page is told about `job` (read again after the refusal)."""
    label = job.get_status_display()
    # Only a note in its author's own name that set today's status names who and when: anyone
    # who sees the job may write a note that looks like one.
    setting = f"→ {label.lower()}, by "
    for note in job.notes.filter(body__startswith=NOTE_START).order_by("-created_at", "-id")[:5]:
        if note.body.endswith(setting + note.author_name):
            return StatusConflict(job.status, label, note.author_name, note.created_at)
    return StatusConflict(job.status, label, None, None)
