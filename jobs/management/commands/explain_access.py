"""Who can see a job, or what a user can see, and by which case of the rule: for support staff.

Runs as unscoped system work, so the answer is the whole truth whoever asks; divisions.scoping
logs each run ("unscoped access: explain_access --job N by OS-USER") on the `proone` logger.
"""

import getpass
import json

from django.core.management.base import BaseCommand, CommandError

from divisions.admin_display import plural
from divisions.models import User
from divisions.scoping import unscoped
from jobs.explain import what_sees, who_sees
from jobs.models import Job

FORMATS = ("text", "json")


def _operator():
    """The operating-system account that runs the command, for the log line."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "an unknown account"


class Command(BaseCommand):
    help = (
        "Explain access: who can see job N (--job N), or what user NAME can see (--user NAME), "
        "each by the case of the visibility rule. Unscoped system work, logged as such."
    )

    def add_arguments(self, parser):
        parser.add_argument("--job", metavar="N", help="a job's id")
        parser.add_argument("--user", metavar="NAME", help="a user's username")
        parser.add_argument("--format", default="text", help="text (default) or json")

    def handle(self, *args, job=None, user=None, format="text", **options):
        if (job is None) == (user is None):
            raise CommandError("Give exactly one of --job N or --user NAME.")
        if format not in FORMATS:
            raise CommandError(f"Unknown --format {format!r}: use text or json.")
        question = f"--job {job}" if job is not None else f"--user {user}"
        with unscoped(f"explain_access {question} by {_operator()}"):
            answer = self._job(job) if job is not None else self._user(user)
        if format == "json":
            self.stdout.write(json.dumps(answer, indent=2))
        else:
            self.stdout.write(_as_text(answer))

    def _job(self, job_id):
        job = None
        if job_id.isascii() and job_id.isdigit():
            job = Job.objects.with_related("tenant", "division").filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"No job {job_id}.")
        return {
            "job": {
                "id": job.pk,
                "title": job.title,
                "tenant": job.tenant.slug,
                "division": None if job.division is None else job.division.name,
            },
            "seen_by": [
                {"case": group.case, "users": group.users, "names": list(group.names)}
                for group in who_sees(job)
            ],
        }

    def _user(self, username):
        user = User.objects.select_related("tenant", "division").filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username}.")
        sight = what_sees(user)
        return {
            "user": {
                "username": user.username,
                "tenant": None if user.tenant is None else user.tenant.slug,
                "division": None if user.division is None else user.division.name,
                "is_active": user.is_active,
            },
            "sees": [
                {
                    "division": None if row.division is None else row.division.name,
                    "case": row.case,
                    "jobs": row.jobs,
                }
                for row in sight
            ],
            "jobs": sum(row.jobs for row in sight),
        }


def _as_text(answer):
    if "job" in answer:
        job = answer["job"]
        where = f"{job['tenant']}, {job['division'] or 'no division'}"
        users = plural(sum(group["users"] for group in answer["seen_by"]), "user")
        lines = [f"Job {job['id']} {job['title']!r} ({where}): {users}"]
        for group in answer["seen_by"]:
            shown = ", ".join(group["names"])
            more = group["users"] - len(group["names"])
            lines.append(
                f"  {group['case']}: {group['users']}: {shown}"
                + (f" and {more} more" if more else "")
            )
        return "\n".join(lines)
    user = answer["user"]
    where = f"{user['tenant'] or 'no tenant'}, {user['division'] or 'no division'}"
    inactive = "" if user["is_active"] else ", inactive"
    lines = [f"User {user['username']} ({where}{inactive}): {plural(answer['jobs'], 'job')}"]
    lines += [
        f"  {row['division'] or 'jobs of no division'}: {row['case']}, {plural(row['jobs'], 'job')}"
        for row in answer["sees"]
    ]
    return "\n".join(lines)
