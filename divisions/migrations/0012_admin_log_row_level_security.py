"""
PostgreSQL only: row-level security on the Django admin's log (django_admin_log).

Each row names an object and what was changed (`object_repr`, `change_message`: a job's title,
a user's name, a division's scope), written by the tenant admin or division manager who
changed it. Without a policy an injection as the app role, in any member's request, read every
tenant's log. Here:

- Each entry belongs to the tenant its author was in when it was written (a `tenant_id` column
  Django does not know about, set by a trigger from the author's row whatever the statement
  says), and is dated by the database (`action_time` is the transaction's time for anyone but
  system work). An author later moved to another tenant takes no entry along.
- read: system work; in the acting user's tenant, one's own entries (the admin's "Recent
  actions") and, for its tenant admins, everyone's (an object's history page). A division
  manager reads only its own: the tenant admin's entries name objects outside the scope it
  manages (its scope's history page lists its own changes only). A platform operator's
  entries (no tenant) are read by system work only.
- insert: system work, or an entry in one's own name (dated now, in one's tenant: a member's
  injection can add a line in its own name to the log, never in another's, never back-dated).
  Not "tenant admins only": the admin writes its entry after saving the change, so a tenant
  admin who has just removed their own admin flag still logs it.
- update and delete: system work only, so nobody else rewrites or erases the log. A tenant
  admin deleting a user keeps their entries, without an author (the foreign key becomes
  `ON DELETE SET NULL`, which the database runs as the table's owner, and `user_id` may be
  NULL): Django's own delete of them matches no row for the app role. (A platform operator's
  deletion is system work: Django deletes them.) The admin's history page joins entries to
  their author, so it shows none of these, nor those of an author moved to another tenant;
  system work still reads them.

Running it: existing entries get their author's current tenant (where an author was before
is not recorded), and it holds ACCESS EXCLUSIVE locks on django_admin_log and divisions_user
until it commits (it waits at most 10 seconds for them: run it again later if it times out).
Migrating back deletes the entries whose author was deleted (Django's column is NOT NULL).
Entries inserted without a system principal (Django's `loaddata`, a data-only restore) are
dated now and placed in their author's current tenant by the trigger.

On other databases every operation here is a no-op.
"""

import importlib

from django.db import migrations

_0004 = importlib.import_module("divisions.migrations.0004_untrusted_app_role")
PostgresSQL = importlib.import_module("divisions.migrations.0003_row_level_security").PostgresSQL

SYSTEM, ME, TENANT, TENANT_ADMIN = _0004.SYSTEM, _0004.ME, _0004.TENANT, _0004.TENANT_ADMIN
OWN = ME.replace("id =", "user_id =", 1)
READ = f"{SYSTEM} OR ({TENANT} AND ({OWN} OR {TENANT_ADMIN}))"
INSERT = f"{SYSTEM} OR {OWN}"

# The entry's foreign key to its author, made again with ACTION (the same name, still deferred).
# Forwards it is ON DELETE SET NULL, so `user_id` becomes nullable with it (AUTHOR_OPTIONAL).
AUTHOR_KEY = """
DO $$
DECLARE
    found record;
BEGIN
    SELECT c.conname, pg_get_constraintdef(c.oid) AS definition INTO found
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = 'public.django_admin_log'::regclass AND c.contype = 'f'
      AND a.attname = 'user_id';
    IF found.conname IS NULL THEN
        RAISE EXCEPTION 'django_admin_log has no foreign key on user_id to make again'
            USING HINT = 'Apply django.contrib.admin''s migrations first.';
    END IF;
    EXECUTE format('ALTER TABLE public.django_admin_log DROP CONSTRAINT %I', found.conname);
    EXECUTE format(
        'ALTER TABLE public.django_admin_log ADD CONSTRAINT %I %s ACTION '
            'DEFERRABLE INITIALLY DEFERRED',
        found.conname,
        regexp_replace(found.definition, ' (ON DELETE .*|DEFERRABLE.*)$', '')
    );
END
$$;
"""


def author_key(action=""):
    return AUTHOR_KEY.replace(" ACTION", f" {action}" if action else "")


# Wait at most 10 seconds for a table's lock, rather than queue every request behind it.
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '10s';\n"

# Each entry's tenant, from its author when it is written.
STAMP = """
ALTER TABLE django_admin_log ADD COLUMN tenant_id bigint;
UPDATE django_admin_log l SET tenant_id = u.tenant_id FROM divisions_user u WHERE u.id = l.user_id;

-- A new entry: its author's tenant, and the database's time for anyone but system work (an
-- update, system work only, keeps both).
CREATE FUNCTION proone_rls.admin_log_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.tenant_id := (SELECT u.tenant_id FROM public.divisions_user u WHERE u.id = NEW.user_id);
    IF NOT public.proone_acting_system() THEN
        NEW.action_time := now();
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION proone_rls.admin_log_stamp() FROM PUBLIC;
CREATE TRIGGER proone_admin_log_stamp BEFORE INSERT ON django_admin_log
    FOR EACH ROW EXECUTE FUNCTION proone_rls.admin_log_stamp();
"""
UNDO_STAMP = """
DROP TRIGGER proone_admin_log_stamp ON django_admin_log;
DROP FUNCTION proone_rls.admin_log_stamp();
ALTER TABLE django_admin_log DROP COLUMN tenant_id;
"""

AUTHOR_OPTIONAL = "ALTER TABLE django_admin_log ALTER COLUMN user_id DROP NOT NULL;\n"
# Back to Django's NOT NULL: the entries whose author was deleted go.
UNDO_AUTHOR_OPTIONAL = (
    "DELETE FROM django_admin_log WHERE user_id IS NULL;\n"
    "ALTER TABLE django_admin_log ALTER COLUMN user_id SET NOT NULL;\n"
)

POLICIES = f"""
ALTER TABLE django_admin_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY proone_read ON django_admin_log FOR SELECT USING ({READ});
CREATE POLICY proone_insert ON django_admin_log FOR INSERT WITH CHECK ({INSERT});
CREATE POLICY proone_update ON django_admin_log FOR UPDATE USING ({SYSTEM}) WITH CHECK ({SYSTEM});
CREATE POLICY proone_delete ON django_admin_log FOR DELETE USING ({SYSTEM});
"""
UNDO_POLICIES = """
DROP POLICY proone_delete ON django_admin_log;
DROP POLICY proone_update ON django_admin_log;
DROP POLICY proone_insert ON django_admin_log;
DROP POLICY proone_read ON django_admin_log;
ALTER TABLE django_admin_log DISABLE ROW LEVEL SECURITY;
"""

ADMIN_LOG = LOCK_TIMEOUT + STAMP + author_key("ON DELETE SET NULL") + AUTHOR_OPTIONAL + POLICIES
UNDO_ADMIN_LOG = (
    LOCK_TIMEOUT + UNDO_POLICIES + UNDO_AUTHOR_OPTIONAL + author_key() + UNDO_STAMP
)


class Migration(migrations.Migration):
    dependencies = [
        ("divisions", "0011_proof_checked_where_it_grants"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [PostgresSQL(ADMIN_LOG, UNDO_ADMIN_LOG)]
