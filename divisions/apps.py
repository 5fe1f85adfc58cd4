"""App configs for the organisation and its access rule, and for the admin it runs."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class DivisionsConfig(AppConfig):
    default = True  # this module holds two configs; INSTALLED_APPS's "divisions" means this one
    name = "divisions"
    verbose_name = "Organisation"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.backends.signals import connection_created

        from . import checks, replicas, scope_history, signals  # noqa: F401

        connection_created.connect(scope_history.register, dispatch_uid="scope_history")

        # Replaces django.contrib.auth's receiver (same dispatch_uid): see signals.py.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(signals.update_last_login, dispatch_uid="update_last_login")


class ProOneAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with ProOneAdminSite as the default `admin.site`."""

    default = False
    default_site = "divisions.admin_site.ProOneAdminSite"
