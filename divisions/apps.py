"""App config for the organisation and its access rule."""

from django.apps import AppConfig


class DivisionsConfig(AppConfig):
    name = "divisions"
    verbose_name = "Organisation"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import checks, signals  # noqa: F401

        # Replaces django.contrib.auth's receiver (same dispatch_uid): see signals.py.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(signals.update_last_login, dispatch_uid="update_last_login")
