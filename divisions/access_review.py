"""The organisation's part of the access review (settings.GATE_ACCESS_REVIEW): tenant admins per
tenant, division managers per data scope, and the app role's privileges that differ from what
create_db_roles grants."""

from contextlib import contextmanager

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connections, transaction
from guardian.models import GroupObjectPermission, UserObjectPermission

from . import rls
from .dbroles import app_privilege_drift
from .grants import TENANT_ADMIN_GROUP
from .models import DataScope, Tenant, User
from .scoping import current_scope

MANAGER_PERMISSION = "change_datascope"


@contextmanager
def _acting_as_system(alias):
    """Run the block on connection `alias` as the current (unscoped) system work."""
    if not rls.enforced(alias):
        yield
        return
    with transaction.atomic(using=alias):
        rls.set_principal(current_scope(), using=alias)
        yield


def tenant_admins(alias):
    """Tenant admins (the flag or the group), per tenant."""
    tenants = dict(Tenant.objects.using(alias).values_list("pk", "name"))
    users = User.objects.db_manager(alias).filter(is_tenant_admin=True) | User.objects.db_manager(
        alias
    ).filter(groups__name=TENANT_ADMIN_GROUP)
    rows = []
    for user in users.distinct():
        how = "tenant admin" if user.is_tenant_admin else f"in group {TENANT_ADMIN_GROUP!r}"
        rows.append(
            {"who": user.username, "what": f"{how} of {tenants.get(user.tenant_id, 'no tenant')}"}
        )
    return sorted(rows, key=lambda row: (row["what"], row["who"]))


def division_managers(alias):
    """Holders of the object permission to change a data scope, per scope (guardian grants)."""
    content_type = ContentType.objects.db_manager(alias).get_for_model(DataScope)
    scopes = {
        str(scope.pk): f"{scope.tenant.name}: {scope}"
        for scope in DataScope.objects.using(alias).select_related("tenant", "target_division")
    }
    where = {"content_type": content_type, "permission__codename": MANAGER_PERMISSION}
    rows = [
        {
            "who": grant.user.username,
            "what": f"manages {scopes.get(grant.object_pk, grant.object_pk)}",
        }
        for grant in UserObjectPermission.objects.using(alias)
        .filter(**where)
        .select_related("user")
    ]
    for grant in GroupObjectPermission.objects.using(alias).filter(**where):
        group = Group.objects.using(alias).get(pk=grant.group_id)
        rows += [
            {
                "who": user.username,
                "what": f"manages {scopes.get(grant.object_pk, grant.object_pk)} "
                f"through group {group.name!r}",
            }
            for user in User.objects.db_manager(alias).filter(groups=group)
        ]
    return sorted(rows, key=lambda row: (row["what"], row["who"]))


def app_role_drift(alias):
    """The app role's privileges that differ from create_db_roles' grants, per relation."""
    app = connections.settings["default"]["USER"]
    with connections[alias].cursor() as cursor:
        drift = app_privilege_drift(cursor, app)
    return [
        {
            "who": name,
            "what": f"{app} holds {', '.join(sorted(held)) or 'nothing'}; create_db_roles "
            f"grants {', '.join(sorted(granted)) or 'nothing'}",
        }
        for name, (held, granted) in sorted(drift.items())
    ]


def sections(alias, *, catalog):
    """[(key, title, rows, rows are users)]; with `catalog`, the app role's drift too."""
    with _acting_as_system(alias):
        found = [
            ("tenant_admins", "Tenant admins", tenant_admins(alias), True),
            ("division_managers", "Division managers", division_managers(alias), True),
        ]
    if catalog:
        found.append(
            (
                "app_role_drift",
                "App role privileges unlike create_db_roles'",
                app_role_drift(alias),
                False,
            )
        )
    return found
