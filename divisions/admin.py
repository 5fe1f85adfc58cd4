"""
The organisation in the admin: divisions, their DataScopes, users and tenants.

Tenant admins see their own tenant's rows (the scoped managers filter Division and DataScope;
TenantOwnedAdmin filters again and adds the User table, which is not scoped). Platform
operators see every tenant: ProOneAdminSite runs their views unscoped. Division managers see
only the DataScopes they hold `divisions.change_datascope` on.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from guardian.shortcuts import assign_perm, get_users_with_perms, remove_perm

from .admin_site import (
    DIVISION_MANAGER,
    PLATFORM_OPERATOR,
    TENANT_ADMIN,
    managed_scopes,
    request_role,
)
from .audience import audience_of, sight_of
from .demo import tenant_admin_group
from .models import DataScope, DataScopeChange, Division, Tenant, User

MANAGER_PERMISSIONS = ["divisions.change_datascope", "divisions.view_datascope"]


def is_tenant_owned(model):
    """True for a model with a `tenant` foreign key (every tenant-owned table has one)."""
    return any(field.name == "tenant" for field in model._meta.concrete_fields)


class TenantOwnedAdmin(admin.ModelAdmin):
    """A tenant-owned model: tenant admins work in their tenant, platform operators in all."""

    admin_roles = (PLATFORM_OPERATOR, TENANT_ADMIN)
    tenant_is_fixed = True

    def _allowed(self, request):
        return request_role(request) in self.admin_roles

    def has_module_permission(self, request):
        return self._allowed(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._allowed(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request) and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request_role(request) == PLATFORM_OPERATOR:
            return queryset
        # Stated here as well as in the scoped managers: the User table has no scoped manager.
        return queryset.filter(tenant_id=request.user.tenant_id)

    def get_object(self, request, object_id, from_field=None):
        # Another tenant's row and a missing row are the same 404, never a redirect.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if request_role(request) == PLATFORM_OPERATOR:
            return fields
        return [field for field in fields if field != "tenant"]

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if request_role(request) != PLATFORM_OPERATOR:
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
        if request_role(request) == PLATFORM_OPERATOR:
            return ["tenant", *filters]
        return filters

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if request_role(request) == PLATFORM_OPERATOR:
            return [*columns, "tenant"]
        return columns

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if request_role(request) != PLATFORM_OPERATOR and is_tenant_owned(related):
            kwargs.setdefault(
                "queryset",
                related._default_manager.filter(tenant_id=request.user.tenant_id),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if request_role(request) == PLATFORM_OPERATOR:
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


def audience_html(division):
    """'Who can see this division's jobs', as a short list for an admin page."""
    groups = audience_of(division)
    if not groups:
        return "Nobody yet."
    total = sum(group.users for group in groups)
    lines = format_html_join(
        "",
        "<li>{}: {} user{}</li>",
        (
            (
                "Tenant admins (they see every job)"
                if group.is_tenant_admin
                else group.division or "Users without a division",
                group.users,
                "" if group.users == 1 else "s",
            )
            for group in groups
        ),
    )
    return format_html(
        "<p>{} user{} in all.</p>"
        "<ul class='audience' style='margin-left: 0; padding-left: 1.2em'>{}</ul>",
        total,
        "" if total == 1 else "s",
        lines,
    )


class PlatformOperatorsOnly:
    """Admin permissions for platform-wide models: platform operators only, nobody else."""

    def has_module_permission(self, request):
        return request_role(request) == PLATFORM_OPERATOR

    def has_view_permission(self, request, obj=None):
        return request_role(request) == PLATFORM_OPERATOR

    def has_add_permission(self, request):
        return request_role(request) == PLATFORM_OPERATOR

    def has_change_permission(self, request, obj=None):
        return request_role(request) == PLATFORM_OPERATOR

    def has_delete_permission(self, request, obj=None):
        return request_role(request) == PLATFORM_OPERATOR


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


def scope_managers(scope):
    """Users of the scope's tenant who hold the object permission to change it."""
    return get_users_with_perms(
        scope, only_with_perms_in=["change_datascope"], with_group_users=False
    ).filter(tenant_id=scope.tenant_id)


def describe_snapshot(snapshot):
    """A DataScope snapshot in plain words."""
    if snapshot.get("is_everyone"):
        listed = ", ".join(snapshot.get("divisions") or []) or "none"
        return f"everyone in the tenant (listed divisions: {listed})"
    return "listed divisions: " + (", ".join(snapshot.get("divisions") or []) or "none")


@admin.register(DataScope)
class DataScopeAdmin(TenantOwnedAdmin):
    """Who sees one division's jobs; tenant admins also grant division managers here."""

    form = DataScopeForm
    list_display = ["__str__", "is_everyone", "listed", "updated_at"]
    list_filter = ["is_everyone"]
    readonly_fields = ["division_link", "audience", "history"]
    admin_roles = (PLATFORM_OPERATOR, TENANT_ADMIN, DIVISION_MANAGER)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["division_link", "is_everyone", "listed_divisions"]}),
            ("Who can see this division's jobs now", {"fields": ["audience"]}),
        ]
        if request_role(request) != DIVISION_MANAGER:
            fieldsets.append(("Who may change this scope", {"fields": ["managers"]}))
        fieldsets.append(("History", {"fields": ["history"]}))
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
            self._grant_and_revoke(obj, set(form.cleaned_data["managers"]))

    def _grant_and_revoke(self, scope, wanted):
        current = set(scope_managers(scope))
        for user in wanted - current:
            for perm in MANAGER_PERMISSIONS:
                assign_perm(perm, user, scope)
            if not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
        for user in current - wanted:
            for perm in MANAGER_PERMISSIONS:
                remove_perm(perm, user, scope)

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

    @admin.display(description="changes, newest first")
    def history(self, obj):
        changes = list(obj.changes.all()[:50])
        if not changes:
            return "No changes recorded yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    change.changed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    change.changed_by_name,
                    describe_snapshot(change.before),
                    describe_snapshot(change.after),
                )
                for change in changes
            ),
        )
        return format_html(
            "<table class='scope-history'><thead><tr><th>When</th><th>Who</th>"
            "<th>Before</th><th>After</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(Division)
class DivisionAdmin(TenantOwnedAdmin):
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
        scope = obj.data_scope
        if scope.is_everyone:
            return "Everyone in the tenant"
        listed = ", ".join(str(division) for division in scope.divisions.all())
        return f"Its members, plus {listed}" if listed else "Its members only"

    @admin.display(description="data scope")
    def scope_link(self, obj):
        return format_html(
            '<a href="{}">Change who sees this division\'s jobs</a> ({})',
            reverse("admin:divisions_datascope_change", args=[obj.data_scope_id]),
            self.scope_summary(obj),
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
class UserAdmin(TenantOwnedAdmin, BaseUserAdmin):
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
        operator = request_role(request) == PLATFORM_OPERATOR
        if obj is None:
            extra = ("tenant", "division") if operator else ("division",)
            return (*self.add_fieldsets, ("Organisation", {"fields": extra}))
        return self.operator_fieldsets if operator else self.tenant_fieldsets

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("division", "tenant")
        if request_role(request) == PLATFORM_OPERATOR:
            return queryset
        # A superuser's password is not a tenant admin's to reset.
        return queryset.exclude(is_superuser=True)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if request_role(request) != PLATFORM_OPERATOR:
            # A tenant admin cannot edit groups; the flag decides the admin permissions.
            if obj.is_tenant_admin:
                obj.groups.add(tenant_admin_group())
            else:
                obj.groups.remove(*obj.groups.filter(name=tenant_admin_group().name))

    @admin.display(description="what this user can see")
    def sight(self, obj):
        divisions, jobs = sight_of(obj)
        names = ", ".join(str(division) for division in divisions) or "no division"
        return format_html(
            "<p>Jobs of: {}</p><p>{} job{} in all.</p>",
            names,
            jobs,
            "" if jobs == 1 else "s",
        )
