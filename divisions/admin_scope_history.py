"""The DataScope history in the admin: a scope's recorded changes, and a tenant's since a date."""

from django.utils.html import format_html, format_html_join

from .models import DataScopeEvent, Division

# The newest events a page shows; the count of all of them is said above the table.
SHOWN = 50


def describe(event):
    """'Plumbing added', 'Everyone switched on'."""
    if event.what == DataScopeEvent.ADDED:
        return f"{event.division_name or f'division {event.division_id}'} added"
    if event.what == DataScopeEvent.REMOVED:
        return f"{event.division_name or f'division {event.division_id}'} removed"
    return event.get_what_display().capitalize()


def events_html(scope):
    """The scope's recorded changes, newest first and at most SHOWN, with who and when."""
    events = DataScopeEvent.objects.filter(datascope_id=scope.pk)
    shown = list(events[:SHOWN])
    if not shown:
        return "No changes recorded yet."
    total = len(shown) if len(shown) < SHOWN else events.count()
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                event.recorded_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                event.actor_name or ("system" if event.actor_id is None else event.actor_id),
                describe(event),
            )
            for event in shown
        ),
    )
    more = format_html("<p>Showing the {} newest of {}.</p>", SHOWN, total) if total > SHOWN else ""
    return format_html(
        "{}<table class='scope-events'><thead><tr><th>When</th><th>Who</th><th>Change</th>"
        "</tr></thead><tbody>{}</tbody></table>",
        more,
        rows,
    )


def changes_since(tenant_id, since):
    """(the tenant's DataScope events after `since` (every one when None), newest first and at
    most SHOWN, as (event, the scope's division name, description); how many there are)."""
    events = DataScopeEvent.objects.filter(tenant_id=tenant_id)
    if since is not None:
        events = events.filter(recorded_at__gt=since)
    shown = list(events[:SHOWN])
    total = len(shown) if len(shown) < SHOWN else events.count()
    names = dict(
        Division.objects.filter(data_scope_id__in={e.datascope_id for e in shown}).values_list(
            "data_scope_id", "name"
        )
    )
    return [
        (
            event,
            names.get(event.datascope_id, f"scope {event.datascope_id} (gone)"),
            describe(event),
        )
        for event in shown
    ], total
