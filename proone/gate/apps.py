"""App configuration of the migration gate."""

from django.apps import AppConfig


class GateConfig(AppConfig):
    """Registers the gate's checks, the migration database alias and its privilege revocation."""

    name = "proone.gate"
    label = "gate"
    verbose_name = "Migration gate"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401  (registers the system checks)
        from .connection import register_migrate_alias
        from .privileges import revoke_app_privileges

        register_migrate_alias()
        post_migrate.connect(revoke_app_privileges, sender=self)
