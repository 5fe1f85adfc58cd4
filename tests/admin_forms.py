"""Admin change forms as a browser holds them: opened first, then posted with its fields."""

from django import forms

from divisions.admin_concurrency import LOADED_AS


def field_data(bound):
    """What a browser posts for one bound field left as the page showed it."""
    widget, value, name = bound.field.widget, bound.value(), bound.html_name
    if isinstance(widget, forms.CheckboxInput):
        return {name: "on"} if value else {}
    if isinstance(widget, forms.MultiWidget):
        parts = widget.decompress(value)
        return {f"{name}_{n}": "" if part is None else str(part) for n, part in enumerate(parts)}
    if isinstance(value, (list, tuple)):
        return {name: [str(item) for item in value]}
    return {name: "" if value is None else str(value)}


def opened(client, url):
    """The change page at `url`, opened now: the data its form posts when saved unchanged."""
    response = client.get(url)
    assert response.status_code == 200, url
    data = {}
    for bound in response.context["adminform"].form:
        if bound.field.disabled:
            continue
        data.update(field_data(bound))
        if bound.field.show_hidden_initial:
            initial = field_data(bound)
            data.update({f"initial-{key}": value for key, value in initial.items()})
    return data


def post_change_form(client, url, changes=None, **kwargs):
    """Open the change page at `url`, then save it with `changes` (field → posted value)."""
    return client.post(url, {**opened(client, url), **(changes or {})}, **kwargs)


def loaded_as(client, url):
    """`{"loaded_as": ...}` of the change page at `url` opened now, to post with other data."""
    return {LOADED_AS: opened(client, url)[LOADED_AS]}
