"""
PostgreSQL only: row-level security on job notes, and a note's tenant is its job's tenant.

A note is visible exactly when its job is: the policy reads jobs_job under the same role, so
jobs_job's own policy (0003) decides, and the rule is not written a second time. A note is
written only on a visible job, in the principal's tenant, and in the principal's own name.
On other databases every operation here is a no-op: the ORM scopes notes through their job.
"""

import importlib

from django.db import migrations

PostgresSQL = importlib.import_module("divisions.migrations.0003_row_level_security").PostgresSQL

SYSTEM = "(SELECT proone_acting_system())"
ON_VISIBLE_JOB = (
    "tenant_id = (SELECT proone_acting_tenant()) "
    "AND EXISTS (SELECT 1 FROM jobs_job j WHERE j.id = job_id)"
)
READ = f"{SYSTEM} OR ({ON_VISIBLE_JOB})"
# In the principal's own name: the author and the name shown to readers are the principal's.
IN_OWN_NAME = (
    "author_id = (SELECT proone_principal()) AND author_name = "
    "(SELECT u.username FROM divisions_user u WHERE u.id = (SELECT proone_principal()))"
)
WRITE = f"{SYSTEM} OR ({ON_VISIBLE_JOB} AND {IN_OWN_NAME})"

NOTES = f"""
ALTER TABLE jobs_job ADD CONSTRAINT job_id_tenant UNIQUE (id, tenant_id);
ALTER TABLE jobs_jobnote ADD CONSTRAINT jobnote_job_same_tenant
    FOREIGN KEY (job_id, tenant_id) REFERENCES jobs_job (id, tenant_id);
ALTER TABLE jobs_jobnote ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs_jobnote FORCE ROW LEVEL SECURITY;
CREATE POLICY proone_read ON jobs_jobnote FOR SELECT USING ({READ});
CREATE POLICY proone_insert ON jobs_jobnote FOR INSERT WITH CHECK ({WRITE});
CREATE POLICY proone_update ON jobs_jobnote FOR UPDATE USING ({WRITE}) WITH CHECK ({WRITE});
CREATE POLICY proone_delete ON jobs_jobnote FOR DELETE USING ({READ});
"""
UNDO_NOTES = """
DROP POLICY proone_delete ON jobs_jobnote;
DROP POLICY proone_update ON jobs_jobnote;
DROP POLICY proone_insert ON jobs_jobnote;
DROP POLICY proone_read ON jobs_jobnote;
ALTER TABLE jobs_jobnote NO FORCE ROW LEVEL SECURITY;
ALTER TABLE jobs_jobnote DISABLE ROW LEVEL SECURITY;
ALTER TABLE jobs_jobnote DROP CONSTRAINT jobnote_job_same_tenant;
ALTER TABLE jobs_job DROP CONSTRAINT job_id_tenant;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0005_cheaper_principal"),
        ("jobs", "0003_jobnote"),
    ]

    operations = [PostgresSQL(NOTES, UNDO_NOTES)]
