"""On a Citus cluster: a tenant's DataScope changes and access reviews distributed by
tenant_id, co-located with its jobs (docs/scaling.md, "Citus"); nothing on a single node.

Written by hand, as a change to tables is (generate.py), like 0032_citus_distribute: the primary
keys become (id, tenant_id) and the foreign keys to the coordinator's tables (tenant, scope,
author) go; 0033's Citus policies hold each row to its tenant instead. The reverse brings the
tables back to the coordinator with their keys.
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

SELECT create_distributed_table('public.divisions_datascopechange', 'tenant_id', colocate_with => 'public.jobs_job');

SELECT create_distributed_table('public.divisions_accessreview', 'tenant_id', colocate_with => 'public.jobs_job');
"""

REVERSE = r"""
SELECT undistribute_table('public.divisions_accessreview');

SELECT undistribute_table('public.divisions_datascopechange');

ALTER TABLE divisions_accessreview DROP CONSTRAINT divisions_accessreview_pkey;

ALTER TABLE divisions_accessreview ADD CONSTRAINT divisions_accessreview_pkey PRIMARY KEY (id);

ALTER TABLE divisions_accessreview
    ADD CONSTRAINT divisions_accessrevi_tenant_id_e9d724ed_fk_divisions
        FOREIGN KEY (tenant_id) REFERENCES divisions_tenant(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE divisions_datascopechange DROP CONSTRAINT divisions_datascopechange_pkey;

ALTER TABLE divisions_datascopechange ADD CONSTRAINT divisions_datascopechange_pkey PRIMARY KEY (id);

ALTER TABLE divisions_datascopechange
    ADD CONSTRAINT divisions_datascopec_changed_by_id_f8e3e86a_fk_divisions
        FOREIGN KEY (changed_by_id) REFERENCES divisions_user(id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT divisions_datascopec_datascope_id_da6f45f5_fk_divisions
        FOREIGN KEY (datascope_id) REFERENCES divisions_datascope(id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT divisions_datascopec_tenant_id_c849fc8d_fk_divisions
        FOREIGN KEY (tenant_id) REFERENCES divisions_tenant(id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT scopechange_scope_same_tenant
        FOREIGN KEY (datascope_id, tenant_id) REFERENCES divisions_datascope(id, tenant_id);
"""


class Migration(migrations.Migration):
    dependencies = [("divisions", "0033_citus_records")]

    operations = [CitusSQL(sql=FORWARD, reverse_sql=REVERSE)]
