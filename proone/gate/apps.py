"""App configuration of the migration gate."""

from django.apps import AppConfig


class GateConfig(AppConfig):
    """Registers the gate's system checks and the migration database alias."""

    name = "proone.gate"
    label = "gate"
    verbose_name = "Migration gate"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .connection import register_migrate_alias

        register_migrate_alias()
