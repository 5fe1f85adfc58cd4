"""Model fields of tenant-owned rows."""

from django.db import models
from django.db.models.expressions import Col
from django.db.models.lookups import Exact


class SameTenantForeignKey(models.ForeignKey):
    """A ForeignKey from a row of one tenant to a row of the same tenant (both models have a
    `tenant`): every join between them compares the tenant too.

    A composite key in the database already holds the two rows to one tenant, so on one node
    the comparison changes no result. On a Citus cluster it is what lets the join run on the
    worker that holds both rows: Citus joins distributed tables only on their distribution
    column (tenant_id). The column is a plain foreign key: migrations see a models.ForeignKey.
    """

    def get_extra_restriction(self, alias, related_alias):
        # `alias` is the target's table, `related_alias` the holder's; an exclude() pushed
        # into a subquery passes no target alias (django.db.models.sql.Query.trim_start).
        if alias is None or related_alias is None:
            return None
        return Exact(
            Col(alias, self.related_model._meta.get_field("tenant")),
            Col(related_alias, self.model._meta.get_field("tenant")),
        )

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.ForeignKey", args, kwargs
