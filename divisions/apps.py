"""App config for the organisation and its access rule."""

from django.apps import AppConfig


class DivisionsConfig(AppConfig):
    name = "divisions"
    verbose_name = "Organisation"

    def ready(self):
        from . import checks, signals  # noqa: F401
