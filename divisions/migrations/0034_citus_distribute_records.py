"""On a Citus cluster: a tenant's DataScope changes and access reviews distributed by
tenant_id, co-located with its jobs (docs/scaling.md, "Citus"); nothing on a single node.

Written by hand, as a change to tables is (generate.py), like 0032_citus_distribute: the primary
keys become (id, tenant_id) and the foreign keys to the coordinator's tables (tenant, scope,
author) go; 0033's Citus policies hold each row to its tenant and scope instead. There is no
reverse on a cluster: Citus refuses to bring a table with an identity column (Django's ids)
back to the coordinator, so the reverse says to restore the backup taken before it.

Citus moves the rows as the owner, with no principal (a migration's): the DataScope changes,
forced under row-level security on their owner too, are released from it while they move, or
their policies would show the move none of them.
"""

from django.db import migrations

from divisions.database.operations import CitusSQL

FORWARD = r"""
ALTER TABLE divisions_datascopechange DROP CONSTRAINT divisions_datascopec_changed_by_id_f8e3e86a_fk_divisions;

ALTER TABLE divisions_datascopechange DROP CONSTRAINT divisions_datascopec_datascope_id_da6f45f5_fk_divisions;

ALTER TABLE divisions_datascopechange DROP CONSTRAINT divisions_datascopec_tenant_id_c849fc8d_fk_divisions;

ALTER TABLE divisions_datascopechange DROP CONSTRAINT scopechange_scope_same_tenant;

ALTER TABLE divisions_datascopechange DROP CONSTRAINT divisions_datascopechange_pkey;

ALTER TABLE divisions_datascopechange ADD CONSTRAINT divisions_datascopechange_pkey PRIMARY KEY (id, tenant_id);

ALTER TABLE divisions_accessreview DROP CONSTRAINT divisions_accessrevi_tenant_id_e9d724ed_fk_divisions;

ALTER TABLE divisions_accessreview DROP CONSTRAINT divisions_accessreview_pkey;

ALTER TABLE divisions_accessreview ADD CONSTRAINT divisions_accessreview_pkey PRIMARY KEY (id, tenant_id);

ALTER TABLE divisions_datascopechange NO FORCE ROW LEVEL SECURITY;

SELECT create_distributed_table('public.divisions_datascopechange', 'tenant_id', colocate_with => 'public.jobs_job');

ALTER TABLE divisions_datascopechange FORCE ROW LEVEL SECURITY;

SELECT create_distributed_table('public.divisions_accessreview', 'tenant_id', colocate_with => 'public.jobs_job');
"""

REVERSE = r"""
DO $$
BEGIN
    RAISE EXCEPTION 'divisions 0034 is not reversed on a Citus cluster: Citus 13.2 does not bring a table with an identity column back to the coordinator (undistribute_table); restore the backup taken before it instead';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("divisions", "0033_citus_records")]

    operations = [CitusSQL(sql=FORWARD, reverse_sql=REVERSE)]
