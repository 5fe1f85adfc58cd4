"""Sign-in that refuses oversized names, sign-out that says so, and the 500 handler."""

import sys

from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LogoutView
from django.core.validators import MaxLengthValidator
from django.views import defaults

from api import errors


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with the username's length validated, not only hinted.

    Django sets only the HTML maxlength; an oversized name still reached authenticate() and
    django-axes, whose 255-character column PostgreSQL enforces (a server error)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class SignOutView(LogoutView):
    """POST only (as LogoutView); the sign-in page it returns to confirms the sign-out."""

    def post(self, request, *args, **kwargs):
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.success(request, "You have signed out.")
        return response


def server_error(request):
    """The 500 page (templates/500.html); JSON for an API request (api/errors.py)."""
    if errors.for_api(request):
        return errors.server_error(sys.exc_info()[1])
    return defaults.server_error(request)
