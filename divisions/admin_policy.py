"""
Who may use an admin page and which rows it shows: roles, then the request user's tenant.

Tenant admins see their own tenant's rows (the scoped managers filter Division and DataScope;
TenantOwnedAdmin filters again through `in_tenant` and covers the User table, which is not
scoped). Platform operators see every tenant: ProOneAdminSite runs their views unscoped.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404

from .admin_site import PLATFORM_OPERATOR, TENANT_ADMIN, request_role


def is_operator(request):
    """True when the request comes from a platform operator (who works in every tenant)."""
    return request_role(request) == PLATFORM_OPERATOR


def in_tenant(queryset, request):
    """The rows of `queryset` in the request user's tenant; every row for a platform operator."""
    if is_operator(request):
        return queryset
    return queryset.filter(tenant_id=request.user.tenant_id)


def is_tenant_owned(model):
    """True for a model with a `tenant` foreign key (every tenant-owned table has one)."""
    return any(field.name == "tenant" for field in model._meta.concrete_fields)


class RolesOnly:
    """Admin permissions for the roles in `admin_roles`, on top of Django's model permissions."""

    admin_roles = ()

    def role_may(self, request):
        return request_role(request) in self.admin_roles

    def has_module_permission(self, request):
        return self.role_may(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.role_may(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self.role_may(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.role_may(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.role_may(request) and super().has_delete_permission(request, obj)


class PlatformOperatorsOnly(RolesOnly):
    """Admin permissions for platform-wide models: platform operators only, nobody else."""

    admin_roles = (PLATFORM_OPERATOR,)


class TenantOwnedAdmin(RolesOnly, admin.ModelAdmin):
    """A tenant-owned model: tenant admins work in their tenant, platform operators in all."""

    admin_roles = (PLATFORM_OPERATOR, TENANT_ADMIN)
    tenant_is_fixed = True

    def get_queryset(self, request):
        # Stated here as well as in the scoped managers: the User table has no scoped manager.
        return in_tenant(super().get_queryset(request), request)

    def get_object(self, request, object_id, from_field=None):
        # Another tenant's row and a missing row are the same 404, never a redirect.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if is_operator(request):
            return fields
        return [field for field in fields if field != "tenant"]

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not is_operator(request):
            exclude.append("tenant")
        return exclude

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and self.tenant_is_fixed:
            # Moving a row to another tenant would strand its relations; nobody does it here.
            readonly.append("tenant")
        return readonly

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        return ["tenant", *filters] if is_operator(request) else filters

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        return [*columns, "tenant"] if is_operator(request) else columns

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if is_tenant_owned(related) and not is_operator(request):
            kwargs.setdefault("queryset", in_tenant(related._default_manager.all(), request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if is_operator(request):
            return form
        return in_tenant_form(form, request.user.tenant_id)


def in_tenant_form(form_class, tenant_id):
    """`form_class` for a tenant admin: new rows join their tenant, which is not a form field."""

    class InTenantForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if self.instance.tenant_id is None:
                self.instance.tenant_id = tenant_id

        def _post_clean(self):
            super()._post_clean()
            # Django skips constraints on fields missing from the form, such as
            # (tenant, name); checked here they give a form error, not an IntegrityError.
            try:
                self.instance.validate_constraints()
            except ValidationError as error:
                self._update_errors(error)

    InTenantForm.__name__ = form_class.__name__
    return InTenantForm
