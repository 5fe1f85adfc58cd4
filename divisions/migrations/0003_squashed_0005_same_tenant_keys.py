"""
Same-tenant keys: composite keys that make a row's tenant agree with its division and scope,
so the database rejects a cross-tenant reference whatever writes it; user ids are positive
(0 is never a user). PostgreSQL only.
"""

from django.db import migrations

from divisions.database.operations import PostgresSQL

KEYS = r"""
ALTER TABLE divisions_division ADD CONSTRAINT division_id_tenant UNIQUE (id, tenant_id);
ALTER TABLE divisions_datascope ADD CONSTRAINT datascope_id_tenant UNIQUE (id, tenant_id);
ALTER TABLE divisions_division ADD CONSTRAINT division_scope_same_tenant
    FOREIGN KEY (data_scope_id, tenant_id) REFERENCES divisions_datascope (id, tenant_id);
ALTER TABLE divisions_datascopedivision ADD CONSTRAINT membership_scope_same_tenant
    FOREIGN KEY (datascope_id, tenant_id) REFERENCES divisions_datascope (id, tenant_id);
ALTER TABLE divisions_datascopedivision ADD CONSTRAINT membership_division_same_tenant
    FOREIGN KEY (division_id, tenant_id) REFERENCES divisions_division (id, tenant_id);
ALTER TABLE divisions_datascopechange ADD CONSTRAINT scopechange_scope_same_tenant
    FOREIGN KEY (datascope_id, tenant_id) REFERENCES divisions_datascope (id, tenant_id);
ALTER TABLE divisions_user ADD CONSTRAINT user_division_same_tenant
    FOREIGN KEY (division_id, tenant_id) REFERENCES divisions_division (id, tenant_id);
ALTER TABLE divisions_user ADD CONSTRAINT user_division_needs_tenant
    CHECK (division_id IS NULL OR tenant_id IS NOT NULL);
ALTER TABLE divisions_user ADD CONSTRAINT user_id_positive CHECK (id > 0);
ALTER TABLE jobs_job ADD CONSTRAINT job_division_same_tenant
    FOREIGN KEY (division_id, tenant_id) REFERENCES divisions_division (id, tenant_id);
"""

UNDO_KEYS = r"""
ALTER TABLE jobs_job DROP CONSTRAINT job_division_same_tenant;
ALTER TABLE divisions_user DROP CONSTRAINT user_id_positive;
ALTER TABLE divisions_user DROP CONSTRAINT user_division_needs_tenant;
ALTER TABLE divisions_user DROP CONSTRAINT user_division_same_tenant;
ALTER TABLE divisions_datascopechange DROP CONSTRAINT scopechange_scope_same_tenant;
ALTER TABLE divisions_datascopedivision DROP CONSTRAINT membership_division_same_tenant;
ALTER TABLE divisions_datascopedivision DROP CONSTRAINT membership_scope_same_tenant;
ALTER TABLE divisions_division DROP CONSTRAINT division_scope_same_tenant;
ALTER TABLE divisions_datascope DROP CONSTRAINT datascope_id_tenant;
ALTER TABLE divisions_division DROP CONSTRAINT division_id_tenant;
"""


class Migration(migrations.Migration):
    replaces = [
        ("divisions", "0003_row_level_security"),
        ("divisions", "0004_untrusted_app_role"),
        ("divisions", "0005_cheaper_principal"),
    ]

    dependencies = [
        ("divisions", "0001_squashed_0002_organisation"),
        ("jobs", "0001_squashed_0002_jobs"),
    ]

    operations = [PostgresSQL(KEYS, UNDO_KEYS)]
