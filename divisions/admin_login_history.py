"""The login history's admin pages (django-axes): lockouts, sign-ins and failures.

Tenant admins see the rows naming their tenant's users (superusers excepted, as on the user
list) and may delete an attempt, which unlocks that username at that address; platform
operators see and unlock every row. Nobody adds or edits a row. On PostgreSQL the login
history's policies say the same (divisions/database/policies.sql); here the filter states it
for SQLite, where nothing else does.
"""

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .admin_policy import is_operator
from .admin_site import PLATFORM_OPERATOR, TENANT_ADMIN, request_role
from .models import User


def of_tenant(queryset, request):
    """The rows of `queryset` naming a user of the request user's tenant; every row for a
    platform operator."""
    if is_operator(request):
        return queryset
    usernames = User.objects.filter(tenant_id=request.user.tenant_id, is_superuser=False)
    return queryset.filter(username__in=usernames.values("username"))


class LoginHistoryAdmin:
    """Read-only login history for tenant admins (their tenant) and platform operators (all);
    `may_delete` lets the same roles delete a row."""

    may_delete = False

    def role_may(self, request):
        return request_role(request) in (PLATFORM_OPERATOR, TENANT_ADMIN)

    def has_module_permission(self, request):
        return self.role_may(request)

    def has_view_permission(self, request, obj=None):
        return self.role_may(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.may_delete and self.role_may(request)

    def get_queryset(self, request):
        return of_tenant(super().get_queryset(request), request)

    def get_object(self, request, object_id, from_field=None):
        # Any other role: 403 before any look-up, on both backends (on PostgreSQL the row is
        # invisible to it). Another tenant's row and a missing row: the same 404.
        if not self.role_may(request):
            raise PermissionDenied
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj


@admin.register(AccessAttempt)
class AttemptAdmin(LoginHistoryAdmin, AccessAttemptAdmin):
    """Failed sign-ins per username, address and browser; deleting one unlocks that pair."""

    may_delete = True
    # Deleting (an unlock) only: django-axes' cleanup action needs a sign-in's request.
    actions = []


@admin.register(AccessLog)
class SignInAdmin(LoginHistoryAdmin, AccessLogAdmin):
    """Successful sign-ins and their sign-outs."""


@admin.register(AccessFailureLog)
class FailureAdmin(LoginHistoryAdmin, AccessFailureLogAdmin):
    """Every failed sign-in (only with AXES_ENABLE_ACCESS_FAILURE_LOG)."""
