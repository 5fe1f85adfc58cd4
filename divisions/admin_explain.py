"""The admin's read-only HTML of the explain answers (divisions.visibility.explain): who can see
a job, by case of the rule; what a user can see, by division, case and job count."""

from django.utils.html import format_html, format_html_join

from .admin_display import plural


def audience_by_case_html(groups):
    """'Who can see this job': each case of the rule, how many users, their first names."""
    if not groups:
        return "Nobody."
    lines = format_html_join(
        "",
        "<li>{}: {}{}</li>",
        (
            (
                group.case,
                plural(group.users, "user"),
                _names(group.names, group.users),
            )
            for group in groups
        ),
    )
    total = sum(group.users for group in groups)
    return format_html(
        "<p>{} in all.</p><ul class='audience'>{}</ul>", plural(total, "user"), lines
    )


def _names(names, count):
    if not names:
        return ""
    more = count - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more else "")
    return f" ({listed})"


def sight_by_case_html(sight):
    """'What this user can see': each division, the case that shows its jobs, how many jobs."""
    if not sight:
        return "No jobs."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((row.division or "Jobs of no division", row.case, row.jobs) for row in sight),
    )
    total = sum(row.jobs for row in sight)
    return format_html(
        "<p>{} in all.</p><table class='sight'><thead><tr><th>Division</th><th>Why</th>"
        "<th>Jobs</th></tr></thead><tbody>{}</tbody></table>",
        plural(total, "job"),
        rows,
    )
