"""Jobs and their notes in the admin: a tenant admin's own tenant, a platform operator's every
tenant."""

from django.contrib import admin

from divisions import admin as divisions_admin
from divisions import admin_matrix
from divisions.admin_concurrency import RefusesStaleForms
from divisions.admin_explain import audience_by_case_html, sight_by_case_html
from divisions.admin_policy import TenantOwnedAdmin
from divisions.models import AccessReview, DataScope, User

from .access_matrix import job_counts
from .explain import what_sees, who_sees
from .models import Job, JobNote


@admin.register(Job)
class JobAdmin(RefusesStaleForms, TenantOwnedAdmin):
    """A tenant's jobs; the division picker offers the same tenant's divisions only."""

    list_display = ["title", "division", "status", "created_at"]
    list_filter = ["status", "division"]
    list_select_related = ()  # get_queryset: with_related()
    search_fields = ["title"]
    autocomplete_fields = ["division"]
    fields = ["tenant", "title", "description", "status", "division", "created_at", "audience"]
    readonly_fields = ["audience"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_related("division")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is not None else [field for field in fields if field != "audience"]

    @admin.display(description="who can see this job, and why")
    def audience(self, obj):
        return audience_by_case_html(who_sees(obj))


@admin.register(JobNote)
class JobNoteAdmin(TenantOwnedAdmin):
    """A tenant's notes, read-only: a note is written on its job's page, in its author's name."""

    list_display = ["body", "job", "author", "created_at"]
    list_select_related = ["job"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("author")

    search_fields = ["body"]
    fields = ["tenant", "job", "author", "body", "created_at"]
    readonly_fields = ["job", "author", "body", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A note is never edited (SPEC "The write rule"): its page is for reading, and a tenant
        # admin's deleting.
        return False


class UserAdmin(divisions_admin.UserAdmin):
    """The organisation's user page, which also says which jobs each user sees, and why."""

    @admin.display(description="what this user can see, and why")
    def sight(self, obj):
        return sight_by_case_html(what_sees(obj))


class DataScopeAdmin(divisions_admin.DataScopeAdmin):
    """The organisation's DataScope page, whose preview also says how many jobs a change shows
    or hides: the division's jobs the admin may see (all of them for a tenant admin)."""

    def count_jobs(self, division):
        return Job.objects.filter(division=division).count()


# The user and DataScope pages live with the organisation; only this app can count its jobs.
admin.site.unregister(User)
admin.site.register(User, UserAdmin)
admin.site.unregister(DataScope)
admin.site.register(DataScope, DataScopeAdmin)


class AccessReviewAdmin(admin_matrix.AccessReviewAdmin):
    """The organisation's access matrix, with how many jobs each column's division has."""

    def column_counts(self, request):
        return job_counts(request.user)


# The matrix lives with the organisation; only this app can count its jobs.
admin.site.unregister(AccessReview)
admin.site.register(AccessReview, AccessReviewAdmin)
