"""The job list's filters, a note, a status change: validated like any other form input."""

from django import forms

from divisions.visibility.choices import division_choices

from .models import NOTE_MAX_LENGTH, Job
from .pagination import NEWEST, ORDERS, Cursor

SORT_LABELS = {
    NEWEST: "Newest first",
    "oldest": "Oldest first",
    "title": "Title A–Z",
    "status": "Status",
}


class CursorField(forms.Field):
    """The `page` cursor; a malformed one is not the user's fault and means the first page."""

    def to_python(self, value):
        return Cursor.parse(value if isinstance(value, str) else None)


class JobFilterForm(forms.Form):
    """`q`, `status`, `division`, `sort` and `page` from the query string; unknown keys are
    ignored."""

    q = forms.CharField(
        label="Search titles",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. boiler"}),
    )
    status = forms.ChoiceField(
        label="Status",
        choices=[("", "Any status"), *Job.Status.choices],
        required=False,
        error_messages={"invalid_choice": "Choose one of the listed statuses."},
    )
    # The message never repeats the value: a hidden division reads exactly like a missing one.
    division = forms.ChoiceField(
        label="Division",
        required=False,
        error_messages={"invalid_choice": "Choose one of the listed divisions."},
    )
    sort = forms.ChoiceField(
        label="Sort",
        choices=[(order, SORT_LABELS[order]) for order in ORDERS],
        required=False,
        error_messages={"invalid_choice": "Choose one of the listed orders."},
    )
    page = CursorField(required=False)

    def __init__(self, data, *, user):
        # Only divisions whose jobs the user may see: the rule decides, this form only lists.
        visible = division_choices(user)
        super().__init__(data)
        self.fields["division"].choices = [
            ("", "All divisions"),
            *((str(pk), name) for pk, name in visible),
        ]

    def clean_sort(self):
        return self.cleaned_data["sort"] or NEWEST

    @property
    def is_filtered(self):
        """True when a valid search or filter narrows the list."""
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in ("q", "status", "division"))


class NoteForm(forms.Form):
    """A note on a job: plain text, shown escaped."""

    body = forms.CharField(
        label="Add a note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write something before adding the note."},
    )


class StatusForm(forms.Form):
    """A job's new status, and the status the user saw: the change is made from that one only."""

    status = forms.ChoiceField(
        label="New status",
        choices=Job.Status.choices,
        error_messages={"invalid_choice": "Choose one of the listed statuses."},
    )
    seen = forms.ChoiceField(
        choices=Job.Status.choices,
        widget=forms.HiddenInput,
        error_messages={
            "required": "Reload the page: the form did not say which status you saw.",
            "invalid_choice": "Reload the page: the form did not say which status you saw.",
        },
    )
