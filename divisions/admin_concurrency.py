"""
No admin edit silently lost: a change form refuses a save made from a page gone stale.

A change page carries `loaded_as`, a signed fingerprint of every value its form showed. Saving
locks the stored row (SELECT ... FOR UPDATE, inside the admin's transaction), builds the form
on that row and compares: when a field shown on the page has changed since it was loaded, and
the save would replace that newer value, the form is invalid. A non-field error names the
field and its value now; nothing is saved and the page keeps its old fingerprint until
reloaded. A change to something the form does not show (a sign-in, `updated_at`, another
role's fields) leaves the page fit to save, and so does a change the save repeats exactly.
"""

import hashlib
import json

from django import forms
from django.core import signing
from django.db import models
from django.http import Http404
from django.utils.text import Truncator, capfirst

LOADED_AS = "loaded_as"
SALT = "divisions.admin_concurrency"


class LoadedAsField(forms.CharField):
    """The page's fingerprint; never a change of the row itself (nor of its change log)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def has_changed(self, initial, data):
        return False


def canonical(value):
    """`value` (as a form field prepares it) as a string equal for equal values."""
    if isinstance(value, (list, tuple, set, models.QuerySet)):
        return json.dumps(sorted(canonical(item) for item in value))
    if isinstance(value, models.Model):
        value = value.pk
    return json.dumps(value, default=str)


def fingerprint(form):
    """Field name → a short digest of the value the form shows, for every editable field."""
    digests = {}
    for name, field in form.fields.items():
        if name == LOADED_AS or field.disabled:
            continue
        shown = canonical(field.prepare_value(form[name].initial))
        digests[name] = hashlib.sha256(shown.encode()).hexdigest()[:16]
    return digests


def object_key(form):
    """The row a form edits, so that one row's page cannot stand for another's."""
    instance = form.instance
    return f"{instance._meta.label_lower}:{instance.pk}"


def sign(form):
    """The `loaded_as` value for a page showing `form`."""
    return signing.dumps({"object": object_key(form), "fields": fingerprint(form)}, salt=SALT)


def described(field, value):
    """The value a field holds now, in words for the error message."""
    if isinstance(value, (list, tuple, models.QuerySet)):
        return ", ".join(str(item) for item in value) or "none"
    if value is None or value == "":
        return "none"
    if isinstance(field, forms.ModelChoiceField) and not isinstance(value, models.Model):
        value = field.queryset.filter(pk=value).first() or value
    elif isinstance(field, forms.ChoiceField):
        value = dict(field.choices).get(value, value)
    elif isinstance(value, bool):
        value = "yes" if value else "no"
    return Truncator(str(value)).chars(80)


class RefusesStaleFormsForm:
    """Form half: carries `loaded_as`, and refuses to save over a change made since."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[LOADED_AS] = LoadedAsField()
        if not self.is_bound:
            self.fields[LOADED_AS].initial = sign(self)

    def clean(self):
        cleaned_data = super().clean()
        for message in self.stale_messages():
            self.add_error(None, message)
        return cleaned_data

    def stale_messages(self):
        try:
            loaded = signing.loads(self.data.get(LOADED_AS) or "", salt=SALT)
        except signing.BadSignature:
            loaded = None
        if not isinstance(loaded, dict) or loaded.get("object") != object_key(self):
            return [
                "This page does not say which version of this "
                f"{self.instance._meta.verbose_name} it was opened on. Reload it and make your "
                "change again."
            ]
        was = loaded.get("fields") or {}
        now = fingerprint(self)
        lost = [name for name in now if was.get(name) != now[name] and self.replaces(name)]
        return [
            f"{capfirst(self.fields[name].label or name)} was changed by someone else since you "
            f"opened this page: now {described(self.fields[name], self[name].initial)}. Reload "
            "to see it."
            for name in lost
        ]

    def replaces(self, name):
        """True when saving would change what field `name` holds now (not what the page held:
        `changed_data` reads a posted initial value for some fields)."""
        bound = self[name]
        return bound.field.has_changed(bound.initial, bound.data)


class RefusesStaleForms:
    """ModelAdmin half: change pages carry `loaded_as`; a save locks the row, then checks."""

    change_form_template = "admin/change_form_loaded_as.html"

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None or request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return obj
        # Held until the admin's transaction ends: a second save waits here, then sees the
        # first one's row. On PostgreSQL the lock also needs the row's UPDATE policy: a row
        # the principal may not change is a 404, as a row they may not see.
        locked = self.get_queryset(request).select_for_update(of=("self",))
        try:
            return locked.get(pk=obj.pk)
        except self.model.DoesNotExist:
            raise Http404("No such object.") from None

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        return type(form.__name__, (RefusesStaleFormsForm, form), {})
