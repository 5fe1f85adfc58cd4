"""Jobs and their notes in the admin: a tenant admin's own tenant, a platform operator's every
tenant."""

from django.contrib import admin

from divisions import admin as divisions_admin
from divisions import admin_matrix
from divisions.admin_concurrency import RefusesStaleForms
from divisions.admin_display import sight_html
from divisions.admin_policy import TenantOwnedAdmin
from divisions.models import AccessReview, User

from .access_matrix import job_counts
from .audience import sight_of
from .models import Job, JobNote


@admin.register(Job)
class JobAdmin(RefusesStaleForms, TenantOwnedAdmin):
    """A tenant's jobs; the division picker offers the same tenant's divisions only."""

    list_display = ["title", "division", "status", "created_at"]
    list_filter = ["status", "division"]
    list_select_related = ["division"]
    search_fields = ["title"]
    autocomplete_fields = ["division"]
    fields = ["tenant", "title", "description", "status", "division", "created_at"]


@admin.register(JobNote)
class JobNoteAdmin(TenantOwnedAdmin):
    """A tenant's notes, read-only: a note is written on its job's page, in its author's name."""

    list_display = ["body", "job", "author", "created_at"]
    list_select_related = ["job", "author"]
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
    """The organisation's user page, which also says how many jobs each user sees."""

    @admin.display(description="what this user can see")
    def sight(self, obj):
        return sight_html(*sight_of(obj))


# The user page lives with the organisation; only this app can count its jobs.
admin.site.unregister(User)
admin.site.register(User, UserAdmin)


class AccessReviewAdmin(admin_matrix.AccessReviewAdmin):
    """The organisation's access matrix, with how many jobs each column's division has."""

    def column_counts(self, request):
        return job_counts(request.user)


# The matrix lives with the organisation; only this app can count its jobs.
admin.site.unregister(AccessReview)
admin.site.register(AccessReview, AccessReviewAdmin)
