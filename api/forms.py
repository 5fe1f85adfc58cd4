"""A new personal access token: its name and an optional expiry date."""

from datetime import datetime, time

from django import forms
from django.utils import timezone

from .models import NAME_MAX_LENGTH


class NewTokenForm(forms.Form):
    """Name the token; it stops working at the start of the expiry day, if one is given."""

    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX_LENGTH,
        help_text="What uses it, e.g. “invoicing sync”.",
        error_messages={"required": "Name the token, so you can tell it apart later."},
    )
    expires_on = forms.DateField(
        label="Expires on (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Choose a day after today, or no expiry.")
        return day

    @property
    def expires_at(self):
        """The moment the token stops working, or None."""
        day = self.cleaned_data["expires_on"]
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.min))
