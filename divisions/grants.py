"""The admin permissions a role carries: the tenant admins' group, a division manager's grants."""

from django.contrib.auth.models import Group, Permission
from guardian.shortcuts import assign_perm, get_users_with_perms, remove_perm

from .scoping import unscoped

TENANT_ADMIN_GROUP = "Tenant admins"
TENANT_ADMIN_PERMISSIONS = [
    ("divisions", ["view_tenant"]),
    (
        "divisions",
        [
            f"{verb}_{model}"
            for verb in ("add", "change", "delete", "view")
            for model in ("division", "datascope", "datascopedivision", "user")
        ],
    ),
    ("jobs", [f"{verb}_job" for verb in ("add", "change", "delete", "view")]),
    # Notes are written on the job's page; the admin lists them and may delete one.
    ("jobs", ["view_jobnote", "delete_jobnote"]),
]
# Object permissions on one DataScope: what makes a user that division's manager.
MANAGER_PERMISSIONS = ["divisions.change_datascope", "divisions.view_datascope"]


def tenant_admin_group():
    """The group that gives tenant admins their model permissions in the admin."""
    # Groups are platform data: on PostgreSQL only system work writes them.
    with unscoped("the tenant admin group"):
        group, _ = Group.objects.get_or_create(name=TENANT_ADMIN_GROUP)
        for app_label, codenames in TENANT_ADMIN_PERMISSIONS:
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
    return group


def sync_tenant_admin_group(user):
    """Put `user` in the tenant admins' group exactly when their flag says so."""
    if user.is_tenant_admin:
        user.groups.add(tenant_admin_group())
    else:
        user.groups.remove(*user.groups.filter(name=TENANT_ADMIN_GROUP))


def scope_managers(scope):
    """Users of the scope's tenant who hold the object permission to change it."""
    return get_users_with_perms(
        scope, only_with_perms_in=["change_datascope"], with_group_users=False
    ).filter(tenant_id=scope.tenant_id)


def make_manager(user, scope):
    """Let `user` change `scope` (and nothing else) in the admin, which needs staff status."""
    for perm in MANAGER_PERMISSIONS:
        assign_perm(perm, user, scope)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


def set_managers(scope, wanted):
    """Make exactly the users in `wanted` the managers of `scope`."""
    current = set(scope_managers(scope))
    for user in wanted - current:
        make_manager(user, scope)
    for user in current - wanted:
        for perm in MANAGER_PERMISSIONS:
            remove_perm(perm, user, scope)
