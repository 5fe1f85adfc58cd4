"""Jobs in the admin: a tenant admin's own tenant, a platform operator's every tenant."""

from django.contrib import admin

from divisions.admin import TenantOwnedAdmin

from .models import Job


@admin.register(Job)
class JobAdmin(TenantOwnedAdmin):
    """A tenant's jobs; the division picker offers the same tenant's divisions only."""

    list_display = ["title", "division", "status", "created_at"]
    list_filter = ["status", "division"]
    list_select_related = ["division"]
    search_fields = ["title"]
    autocomplete_fields = ["division"]
    fields = ["tenant", "title", "description", "status", "division", "created_at"]
