"""
The admin site: who may enter it, and the scope each admin request runs in.

Three roles get in (SPEC "People"): a tenant admin works inside the request's
acting_as(user), so the scoped managers show their tenant only; a division manager works
there too and is further limited to the DataScopes they hold `divisions.change_datascope`
on; a platform operator's admin views run inside unscoped(reason), the one place the admin
opts out of scoping. Everyone else is sent to the admin login page.
"""

from functools import wraps

from django.contrib import admin
from guardian.shortcuts import get_objects_for_user

from .models import DataScope
from .scoping import is_principal, is_tenant_admin, unscoped

PLATFORM_OPERATOR = "platform operator"
TENANT_ADMIN = "tenant admin"
DIVISION_MANAGER = "division manager"


def is_platform_operator(user):
    """True for an active staff superuser without a tenant (SPEC: platform operator)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
        and user.is_superuser
        and user.tenant_id is None
    )


def managed_scopes(user):
    """The DataScopes of the user's tenant that `user` holds the object permission to edit."""
    scopes = DataScope.objects.visible_to(user)
    if not is_principal(user):
        return scopes
    # Object permissions only: a global change_datascope would mean every scope of the tenant.
    return get_objects_for_user(
        user, "divisions.change_datascope", scopes, with_superuser=False, accept_global_perms=False
    )


def admin_role(user):
    """The role `user` has in the admin, or None when they may not enter it."""
    if not (getattr(user, "is_authenticated", False) and user.is_active and user.is_staff):
        return None
    if is_platform_operator(user):
        return PLATFORM_OPERATOR
    if is_tenant_admin(user):
        return TENANT_ADMIN
    if is_principal(user) and managed_scopes(user).exists():
        return DIVISION_MANAGER
    return None


def request_role(request):
    """admin_role(request.user), looked up once per request and user."""
    user = request.user
    cached = getattr(request, "_proone_admin_role", None)
    if cached is None or cached[0] != user.pk:
        cached = (user.pk, admin_role(user))
        request._proone_admin_role = cached
    return cached[1]


class ProOneAdminSite(admin.AdminSite):
    """The admin for tenant admins, division managers and platform operators, nobody else."""

    site_header = "ProOne administration"
    site_title = "ProOne admin"
    index_title = "Administration"
    # The index with the access matrix's link and the last access review's age.
    index_template = "admin/divisions/index.html"

    def has_permission(self, request):
        return request_role(request) is not None

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def run_in_scope(request, *args, **kwargs):
            if request_role(request) != PLATFORM_OPERATOR:
                # The middleware's acting_as(request.user) stays in force.
                return inner(request, *args, **kwargs)
            user = request.user
            reason = f"platform operator {user.username} (id {user.pk}) in the admin"
            with unscoped(f"{reason}: {request.method} {request.path}"):
                response = inner(request, *args, **kwargs)
                # A template runs its queries when rendered, after the view returns.
                if not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return run_in_scope
