"""On a Citus cluster: jobs and their notes distributed by tenant_id and co-located
(docs/scaling.md, "Citus"); nothing on a single node.

Written by hand, as a change to tables is (generate.py): Citus distributes a table only when
every unique key holds the distribution column and every foreign key reaches a co-located or
reference table. So the primary keys become (id, tenant_id), and the foreign keys to the
coordinator's tables (tenant, division, author) go. The note's key to its job stays, on
(job_id, tenant_id).
The policies of 0031's Citus variant hold a job's division to its tenant instead.
The reverse brings the tables back to the coordinator with their keys.
"""

from django.db import migrations

from divisions.database.operations import CitusSQL

FORWARD = r"""
ALTER TABLE jobs_jobnote DROP CONSTRAINT jobs_jobnote_author_id_269d93cd_fk_divisions_user_id;

ALTER TABLE jobs_jobnote DROP CONSTRAINT jobs_jobnote_job_id_0579714d_fk_jobs_job_id;

ALTER TABLE jobs_jobnote DROP CONSTRAINT jobs_jobnote_tenant_id_b320423c_fk_divisions_tenant_id;

ALTER TABLE jobs_job DROP CONSTRAINT job_division_same_tenant;

ALTER TABLE jobs_job DROP CONSTRAINT jobs_job_division_id_0da149e8_fk_divisions_division_id;

ALTER TABLE jobs_job DROP CONSTRAINT jobs_job_tenant_id_47fdbf2d_fk_divisions_tenant_id;

ALTER TABLE jobs_jobnote DROP CONSTRAINT jobs_jobnote_pkey;

ALTER TABLE jobs_job DROP CONSTRAINT jobs_job_pkey;

ALTER TABLE jobs_job ADD CONSTRAINT jobs_job_pkey PRIMARY KEY (id, tenant_id);

ALTER TABLE jobs_jobnote ADD CONSTRAINT jobs_jobnote_pkey PRIMARY KEY (id, tenant_id);

SELECT create_reference_table('proone_rls.citus_anchor');

INSERT INTO proone_rls.citus_anchor VALUES (1);

SELECT create_distributed_table('public.jobs_job', 'tenant_id');

SELECT create_distributed_table('public.jobs_jobnote', 'tenant_id', colocate_with => 'public.jobs_job');

-- The workers' copy of the key (proone_rls.citus_copy_key), for the key stored before.
UPDATE proone_rls.signing_key SET id = id;

-- A query joining a coordinator table (under row-level security) with a distributed one is
-- refused with an error instead of planned: Citus 13.2 crashed the backend on such joins.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET citus.local_table_join_policy = %L',
                   current_database(), 'never');
END
$$;
"""

REVERSE = r"""
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET citus.local_table_join_policy', current_database());
END
$$;

SELECT undistribute_table('public.jobs_job', cascade_via_foreign_keys => true);

SELECT undistribute_table('proone_rls.citus_anchor');

DELETE FROM proone_rls.citus_anchor;

ALTER TABLE jobs_jobnote DROP CONSTRAINT jobs_jobnote_pkey;

ALTER TABLE jobs_jobnote ADD CONSTRAINT jobs_jobnote_pkey PRIMARY KEY (id);

ALTER TABLE jobs_job DROP CONSTRAINT jobs_job_pkey;

ALTER TABLE jobs_job ADD CONSTRAINT jobs_job_pkey PRIMARY KEY (id);

ALTER TABLE jobs_job
    ADD CONSTRAINT jobs_job_tenant_id_47fdbf2d_fk_divisions_tenant_id
        FOREIGN KEY (tenant_id) REFERENCES divisions_tenant(id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT jobs_job_division_id_0da149e8_fk_divisions_division_id
        FOREIGN KEY (division_id) REFERENCES divisions_division(id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT job_division_same_tenant
        FOREIGN KEY (division_id, tenant_id) REFERENCES divisions_division(id, tenant_id);

ALTER TABLE jobs_jobnote
    ADD CONSTRAINT jobs_jobnote_tenant_id_b320423c_fk_divisions_tenant_id
        FOREIGN KEY (tenant_id) REFERENCES divisions_tenant(id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT jobs_jobnote_job_id_0579714d_fk_jobs_job_id
        FOREIGN KEY (job_id) REFERENCES jobs_job(id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT jobs_jobnote_author_id_269d93cd_fk_divisions_user_id
        FOREIGN KEY (author_id) REFERENCES divisions_user(id) DEFERRABLE INITIALLY DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [("divisions", "0031_citus_layer")]

    operations = [CitusSQL(sql=FORWARD, reverse_sql=REVERSE)]
