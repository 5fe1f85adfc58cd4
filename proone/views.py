"""Sign-out that says so: Django's LogoutView plus a note on the sign-in page."""

from django.contrib import messages
from django.contrib.auth.views import LogoutView


class SignOutView(LogoutView):
    """POST only (as LogoutView); the sign-in page it returns to confirms the sign-out."""

    def post(self, request, *args, **kwargs):
        was_signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_signed_in:
            messages.success(request, "You have signed out.")
        return response
