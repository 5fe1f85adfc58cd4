"""
The organisation's admin pages: tenants, groups, divisions, their DataScopes and users.

Who may open each page and which rows it lists is divisions/admin_policy.py; the read-only
HTML is divisions/admin_display.py; the grants a role carries are divisions/grants.py; a change
page gone stale is refused by divisions/admin_concurrency.py; the preview of a DataScope change
before it is saved is divisions/admin_preview.py.
Division managers see only the DataScopes they hold `divisions.change_datascope` on. The login
history's pages are divisions/admin_login_history.py, the access matrix and reviews
divisions/admin_matrix.py, each registered by importing it.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import format_html

from . import admin_login_history, admin_matrix  # noqa: F401
from .admin_concurrency import RefusesStaleForms
from .admin_display import audience_html, history_html, scope_summary, sight_html
from .admin_policy import PlatformOperatorsOnly, TenantOwnedAdmin, is_operator
from .admin_preview import PreviewsScopeChanges
from .admin_scope_history import events_html
from .admin_site import (
    DIVISION_MANAGER,
    PLATFORM_OPERATOR,
    TENANT_ADMIN,
    managed_scopes,
    request_role,
)
from .audience import audience_of, divisions_seen_by
from .grants import scope_managers, set_managers, sync_tenant_admin_group
from .models import DataScope, DataScopeChange, Division, Tenant, User


class AdminCSS:
    """The admin's own stylesheet: classes instead of the inline styles the CSP refuses."""

    class Media:
        css = {"all": ["proone/admin.css"]}


@admin.register(Tenant)
class TenantAdmin(PlatformOperatorsOnly, admin.ModelAdmin):
    """Tenants themselves are the platform operators' business."""

    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PlatformOperatorsOnly, BaseGroupAdmin):
    """Groups carry platform-wide permissions: platform operators only."""


class DataScopeForm(forms.ModelForm):
    """A DataScope: everyone, or the listed divisions of the same tenant; and its managers."""

    listed_divisions = forms.ModelMultipleChoiceField(
        queryset=Division.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Divisions that also see these jobs",
        help_text="Members of the ticked divisions see this division's jobs. The division's "
        "own members always do, and so do the tenant admins. Only divisions of this tenant "
        "are offered.",
    )
    managers = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Division managers",
        help_text="Ticked users may change this scope (and nothing else) in the admin. "
        "Ticking gives them staff status so they can sign in here; unticking takes the "
        "right back.",
    )

    may_grant = False

    class Meta:
        model = DataScope
        fields = ["is_everyone"]
        help_texts = {
            "is_everyone": "Every user of this tenant sees this division's jobs, whatever "
            "divisions are ticked below.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        scope = self.instance
        # The only divisions a scope may list: its own tenant's. A forged id fails here.
        self.fields["listed_divisions"].queryset = Division.objects.filter(
            tenant_id=scope.tenant_id
        ).exclude(data_scope_id=scope.pk)
        self.fields["listed_divisions"].initial = list(scope.divisions.all())
        if not self.may_grant:
            del self.fields["managers"]
            return
        self.fields["managers"].queryset = User.objects.filter(
            tenant_id=scope.tenant_id, is_active=True, is_superuser=False
        ).order_by("username")
        self.fields["managers"].initial = list(scope_managers(scope))


@admin.register(DataScope)
class DataScopeAdmin(PreviewsScopeChanges, RefusesStaleForms, AdminCSS, TenantOwnedAdmin):
    """Who sees one division's jobs; tenant admins also grant division managers here."""

    form = DataScopeForm
    list_display = ["__str__", "is_everyone", "listed", "updated_at"]
    list_filter = ["is_everyone"]
    readonly_fields = ["division_link", "sight_preview", "audience", "history", "events"]
    admin_roles = (PLATFORM_OPERATOR, TENANT_ADMIN, DIVISION_MANAGER)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                None,
                {"fields": ["division_link", "is_everyone", "listed_divisions", "sight_preview"]},
            ),
            ("Who can see this division's jobs now", {"fields": ["audience"]}),
        ]
        if request_role(request) != DIVISION_MANAGER:
            fieldsets.append(("Who may change this scope", {"fields": ["managers"]}))
        fieldsets.append(("History", {"fields": ["history", "events"]}))
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(
            form.__name__,
            (form,),
            {"may_grant": request_role(request) in (PLATFORM_OPERATOR, TENANT_ADMIN)},
        )

    def get_queryset(self, request):
        queryset = (
            super()
            .get_queryset(request)
            .select_related("target_division")
            .prefetch_related("divisions")
        )
        if request_role(request) == DIVISION_MANAGER:
            return queryset.filter(pk__in=managed_scopes(request.user).values("pk"))
        return queryset

    def _manages(self, request, obj):
        if obj is None:
            return True
        return managed_scopes(request.user).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        if request_role(request) == DIVISION_MANAGER:
            return True
        return super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        if request_role(request) == DIVISION_MANAGER:
            return self._manages(request, obj)
        return super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if request_role(request) == DIVISION_MANAGER:
            return self._manages(request, obj)
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        # A scope is born with its division and goes with it.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Locked, so two admins saving at once each record what they really replaced.
        before = DataScope.objects.select_for_update().get(pk=obj.pk).snapshot()
        division = obj.target_division
        users_before = sum(group.users for group in audience_of(division))
        obj.save()
        obj.set_divisions(form.cleaned_data["listed_divisions"])
        if DataScopeChange.record(obj, before, request.user):
            users_after = sum(group.users for group in audience_of(division))
            self.message_user(
                request,
                f"{users_before} users could see {division}'s jobs before this change; "
                f"{users_after} can now.",
            )
        if "managers" in form.fields:
            set_managers(obj, set(form.cleaned_data["managers"]))

    @admin.display(description="listed divisions")
    def listed(self, obj):
        return ", ".join(str(division) for division in obj.divisions.all()) or "-"

    @admin.display(description="division")
    def division_link(self, obj):
        division = obj.target_division
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:divisions_division_change", args=[division.pk]),
            division,
        )

    @admin.display(description="who can see its jobs")
    def audience(self, obj):
        return audience_html(obj.target_division)

    @admin.display(description="saved here, newest first")
    def history(self, obj):
        return history_html(list(obj.changes.all()[:50]))

    @admin.display(description="every change, as the database recorded it")
    def events(self, obj):
        return events_html(obj)


@admin.register(Division)
class DivisionAdmin(RefusesStaleForms, AdminCSS, TenantOwnedAdmin):
    """A division, with a link to its DataScope and who can see its jobs."""

    list_display = ["name", "scope_summary", "created_at"]
    search_fields = ["name"]
    fields = ["tenant", "name", "scope_link", "audience"]
    readonly_fields = ["scope_link", "audience"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None:
            return [field for field in fields if field not in self.readonly_fields]
        return fields

    @admin.display(description="who sees its jobs")
    def scope_summary(self, obj):
        return scope_summary(obj)

    @admin.display(description="data scope")
    def scope_link(self, obj):
        return format_html(
            '<a href="{}">Change who sees this division\'s jobs</a> ({})',
            reverse("admin:divisions_datascope_change", args=[obj.data_scope_id]),
            scope_summary(obj),
        )

    @admin.display(description="who can see this division's jobs")
    def audience(self, obj):
        return audience_html(obj)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("data_scope")
            .prefetch_related("data_scope__divisions")
        )


@admin.register(User)
class UserAdmin(RefusesStaleForms, TenantOwnedAdmin, BaseUserAdmin):
    """The tenant's users; tenant admins cannot make platform-wide grants."""

    # A platform operator may move a user to another tenant (User.clean checks the division).
    tenant_is_fixed = False

    list_display = ["username", "division", "is_tenant_admin", "is_staff", "is_active"]
    list_filter = ["is_tenant_admin", "is_staff", "is_active", "division"]
    readonly_fields = ["sight", "last_login", "date_joined"]
    tenant_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Organisation", {"fields": ("division", "is_tenant_admin")}),
        ("Access", {"fields": ("is_active", "is_staff")}),
        ("What this user can see", {"fields": ("sight",)}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    operator_fieldsets = BaseUserAdmin.fieldsets + (
        ("Organisation", {"fields": ("tenant", "division", "is_tenant_admin")}),
        ("What this user can see", {"fields": ("sight",)}),
    )

    def get_fieldsets(self, request, obj=None):
        operator = is_operator(request)
        if obj is None:
            extra = ("tenant", "division") if operator else ("division",)
            return (*self.add_fieldsets, ("Organisation", {"fields": extra}))
        return self.operator_fieldsets if operator else self.tenant_fieldsets

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("division", "tenant")
        if is_operator(request):
            return queryset
        # A superuser's password is not a tenant admin's to reset.
        return queryset.exclude(is_superuser=True)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not is_operator(request):
            # A tenant admin cannot edit groups; the flag decides the admin permissions.
            sync_tenant_admin_group(obj)

    @admin.display(description="what this user can see")
    def sight(self, obj):
        # jobs/admin.py adds how many jobs that is: the organisation knows no jobs.
        return sight_html(divisions_seen_by(obj))
