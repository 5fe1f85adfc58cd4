"""The admin's read-only HTML: who sees a division's jobs, what a user sees, a scope's history."""

from django.utils.html import format_html, format_html_join

from .audience import audience_of


def plural(count, word):
    """'1 user', '2 users'."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def audience_html(division):
    """'Who can see this division's jobs', as a short list for an admin page."""
    groups = audience_of(division)
    if not groups:
        return "Nobody yet."
    lines = format_html_join(
        "",
        "<li>{}: {}</li>",
        (
            (
                "Tenant admins (they see every job)"
                if group.is_tenant_admin
                else group.division or "Users without a division",
                plural(group.users, "user"),
            )
            for group in groups
        ),
    )
    total = sum(group.users for group in groups)
    # Styled by the class in static/proone/admin.css: the CSP refuses inline styles.
    return format_html(
        "<p>{} in all.</p><ul class='audience'>{}</ul>", plural(total, "user"), lines
    )


def sight_html(divisions, jobs=None):
    """'What this user can see': the divisions whose jobs they see, and how many jobs."""
    names = ", ".join(str(division) for division in divisions) or "no division"
    if jobs is None:
        return format_html("<p>Jobs of: {}</p>", names)
    return format_html("<p>Jobs of: {}</p><p>{} in all.</p>", names, plural(jobs, "job"))


def describe_snapshot(snapshot):
    """A DataScope snapshot in plain words."""
    listed = ", ".join(snapshot.get("divisions") or []) or "none"
    if snapshot.get("is_everyone"):
        return f"everyone in the tenant (listed divisions: {listed})"
    return f"listed divisions: {listed}"


def history_html(changes):
    """A DataScope's recorded changes as a table, newest first."""
    if not changes:
        return "No changes recorded yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                change.changed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                change.changed_by_name,
                describe_snapshot(change.before),
                describe_snapshot(change.after),
            )
            for change in changes
        ),
    )
    return format_html(
        "<table class='scope-history'><thead><tr><th>When</th><th>Who</th>"
        "<th>Before</th><th>After</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def scope_summary(division):
    """Who sees a division's jobs, in a few words."""
    scope = division.data_scope
    if scope.is_everyone:
        return "Everyone in the tenant"
    listed = ", ".join(str(other) for other in scope.divisions.all())
    return f"Its members, plus {listed}" if listed else "Its members only"
