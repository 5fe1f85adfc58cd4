"""Admin registrations for the organisation (scoped by the request's acting user)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import DataScope, DataScopeDivision, Division, Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]


class DataScopeDivisionInline(admin.TabularInline):
    model = DataScopeDivision
    fk_name = "datascope"
    fields = ["division"]
    extra = 0


@admin.register(DataScope)
class DataScopeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_everyone", "updated_at"]
    inlines = [DataScopeDivisionInline]


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "created_at"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Organisation", {"fields": ("tenant", "division", "is_tenant_admin")}),
    )
    list_display = ["username", "tenant", "division", "is_tenant_admin", "is_staff"]
