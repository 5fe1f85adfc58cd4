"""
PostgreSQL only: the job policy asks for the visible divisions first, and one thing after.

Measured at a million jobs (docs/benchmarks.md): each function a policy calls is a separate
initial plan of the statement, and each checks the principal's proof (20-70 µs a call as one
call of a statement). The job policy asked three of them for every member's statement, in
this order: the tenant, whether the user is its tenant admin, and the visible divisions; a
note's policy asked the tenant again before reading its job under that policy.

The rule is unchanged; the same rows pass. Here:

- `jobs_job`: system work, or the job's division is one the principal sees
  (`proone_visible_divisions()`, kept under its seal for the transaction since 0010), or the
  job is in the tenant the principal administers (`proone_admin_tenant()`: the verified
  user's tenant when the user is a tenant admin, else NULL). A member's rows all pass on
  the first answer, so PostgreSQL (which evaluates an initial plan when first needed) never
  asks for the second; a tenant admin's rows outside its own visible divisions ask it once.
  The tenant equality the old policy began with is implied: the visible divisions are the
  principal's tenant's, and a job's division is in the job's tenant (0003's
  `job_division_same_tenant` foreign key, which the database checks as the owner whatever
  the app role writes). A job with no division is seen by its tenant's admins only, as
  before.
- `jobs_jobnote` (read and delete): system work, or the note's job is one the principal may
  see (the job's own policy decides, as since 0006). The tenant equality is implied: a note's
  tenant is its job's (0006's `jobnote_job_same_tenant` foreign key). Inserting and updating
  a note keep 0006's policies word for word.

The same policy text is the job table's check on writes (`WITH CHECK`), as before.

What now counts from the transaction's first answer rather than from each statement: the old
job policy read the acting user's row again in every statement (its tenant and active flag),
so a user deactivated or moved to another tenant by another transaction lost its rows at its
next statement. Here a member's rows are granted on the list kept since 0010, worked out by
the transaction's first statement that asks for it, so such a change counts from the next
transaction (the next request), as a scope changed by another transaction already did, and
as the ORM, which loads the user once per request. Within the transaction, a write to the
user, division or scope tables forgets the list as before (0010's triggers). A division
moved to another tenant by another transaction while a member's transaction keeps it in its
list would let that member write a job there, in the new tenant, until the transaction ends;
moving a division means moving its scope, users and jobs with it, as system work.

The reverse restores 0003's job policy and 0006's note policies word for word and drops
`proone_admin_tenant()`.
"""

import importlib

from django.db import migrations

_0003 = importlib.import_module("divisions.migrations.0003_row_level_security")
_0006 = importlib.import_module("divisions.migrations.0006_jobnote_row_level_security")
PostgresSQL = _0003.PostgresSQL

SYSTEM = "(SELECT proone_acting_system())"
JOB_VISIBILITY = (
    f"{SYSTEM} OR division_id = ANY ((SELECT proone_visible_divisions())::bigint[]) "
    "OR tenant_id = (SELECT proone_admin_tenant())"
)
NOTE_READ = f"{SYSTEM} OR EXISTS (SELECT 1 FROM jobs_job j WHERE j.id = job_id)"

FORWARDS = f"""
-- The acting user's tenant when the user is its tenant admin (is_tenant_admin and is_staff,
-- active), else NULL; NULL for system work, a sign-in look-up and nobody.
CREATE FUNCTION public.proone_admin_tenant() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acting record := proone_rls.acting_user();
BEGIN
    IF acting.tenant_admin THEN
        RETURN acting.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

ALTER POLICY proone_scope ON jobs_job USING ({JOB_VISIBILITY}) WITH CHECK ({JOB_VISIBILITY});
ALTER POLICY proone_read ON jobs_jobnote USING ({NOTE_READ});
ALTER POLICY proone_delete ON jobs_jobnote USING ({NOTE_READ});
"""

BACKWARDS = f"""
ALTER POLICY proone_scope ON jobs_job
    USING ({_0003.JOB_VISIBILITY}) WITH CHECK ({_0003.JOB_VISIBILITY});
ALTER POLICY proone_read ON jobs_jobnote USING ({_0006.READ});
ALTER POLICY proone_delete ON jobs_jobnote USING ({_0006.READ});
DROP FUNCTION public.proone_admin_tenant();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("divisions", "0012_admin_log_row_level_security"),
    ]

    operations = [PostgresSQL(FORWARDS, BACKWARDS)]
