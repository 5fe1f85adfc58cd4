"""Read-only admin pages: sign-offs, applied hashes, the audit log and pending migrations.

On PostgreSQL the app role holds no privilege on the gate's tables, so there the pages are
hidden: operators read the gate with `migrate_secure --plan` and `--verify-audit`.
"""

from django.contrib import admin
from django.db import connections, router
from django.template.response import TemplateResponse
from django.urls import path

from . import GateError
from .connection import default_alias
from .models import AppliedMigration, AuditEntry, SignOff
from .plan import build_plan
from .project import system_scope


def readable(model):
    """True when the app's connection may read `model`'s table."""
    connection = connections[router.db_for_read(model)]
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, 'SELECT')", [model._meta.db_table])
        return cursor.fetchone()[0]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewing only: the gate's records change through its commands, never by hand."""

    def has_module_permission(self, request):
        return readable(self.model) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return readable(self.model) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = ["app_label", "migration_name", "kind", "reviewer_username", "created_at"]
    list_filter = ["kind", "app_label"]
    search_fields = ["migration_name", "reviewer_username", "sha256"]


@admin.register(AppliedMigration)
class AppliedMigrationAdmin(ReadOnlyAdmin):
    list_display = ["app_label", "migration_name", "how", "sha256", "applied_at"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "outcome", "app_label", "migration_name", "os_user", "ended_at"]
    list_filter = ["event", "outcome"]
    search_fields = ["migration_name", "reviewer", "os_user", "error"]
    change_list_template = "admin/gate/auditentry/change_list.html"

    def get_urls(self):
        pending = self.admin_site.admin_view(self.pending_view)
        return [path("pending/", pending, name="gate_pending"), *super().get_urls()]

    def pending_view(self, request):
        """Pending migrations with their SQL, lint findings and sign-off state."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        error, rows, reasons = "", [], []
        try:
            with system_scope("migration gate admin page"):
                plan = build_plan(default_alias())
            for step in plan.steps:
                sql = plan.executor.loader.collect_sql([(step.migration, step.backwards)])
                rows.append({"step": step, "sql": "\n".join(sql)})
            reasons = plan.reasons
        except GateError as exc:
            error = str(exc)
        context = {
            **self.admin_site.each_context(request),
            "title": "Pending migrations",
            "rows": rows,
            "reasons": reasons,
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/gate/pending.html", context)
