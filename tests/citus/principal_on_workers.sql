-- The principal on Citus workers (issue 36, design spike). Applied by the owner role to a
-- migrated test database on the cluster (tests/citus/test_principal_on_workers.py); not part
-- of the database layer's source yet.
--
-- proone_enter(token) verifies the app's token as before (the plain function, moved aside),
-- then works out on the coordinator what the job policies need (system work, the admin's
-- tenant, the visible divisions) and seals that claim with HMAC under the same key, bound to
-- this distributed transaction: Citus's (initiator node, transaction number, stamp), which
-- every worker taking part sees as the coordinator does, and to the principal's proof. It
-- stores the proof and the claim with SET LOCAL, which Citus sends to those workers
-- (citus.propagate_set_commands = 'local'). On a worker the policies read only the two and the
-- worker's own copy of the key (a plain table on each node): no table of the cluster, so no
-- distributed query from a query on a shard. The app's "nobody" (divisions/rls.py) is a
-- SET LOCAL of the proof to '', so it reaches the workers too: there an empty proof is nobody,
-- and the claim, sealed to the proof it came with, holds only while that proof does.

-- jobs_job in the shape Citus distributes: a unique key must hold the distribution column
-- (the primary key on id goes; the unique (id, tenant_id) key stays), foreign keys reach only co-located
-- or reference tables (divisions and tenants stay on the coordinator in this spike), and the
-- policies have no subquery (Citus: "Subqueries are not supported in policies on distributed
-- tables").
ALTER TABLE jobs_jobnote DROP CONSTRAINT jobnote_job_same_tenant;
ALTER TABLE jobs_jobnote DROP CONSTRAINT jobs_jobnote_job_id_0579714d_fk_jobs_job_id;
ALTER TABLE jobs_job DROP CONSTRAINT job_division_same_tenant;
ALTER TABLE jobs_job DROP CONSTRAINT jobs_job_division_id_0da149e8_fk_divisions_division_id;
ALTER TABLE jobs_job DROP CONSTRAINT jobs_job_tenant_id_47fdbf2d_fk_divisions_tenant_id;
ALTER TABLE jobs_job DROP CONSTRAINT jobs_job_pkey;
DROP POLICY proone_read ON jobs_job;
DROP POLICY proone_insert ON jobs_job;
DROP POLICY proone_update ON jobs_job;
DROP POLICY proone_delete ON jobs_job;
DROP POLICY proone_update_status ON jobs_job;

-- Reading a reference table starts Citus's distributed transaction, so its id is known.
CREATE TABLE proone_rls.citus_anchor (id integer PRIMARY KEY);
SELECT create_reference_table('proone_rls.citus_anchor');

-- This distributed transaction's id as text, or NULL outside one. Owner only.
CREATE OR REPLACE FUNCTION proone_rls.citus_transaction()
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT CASE WHEN t.transaction_number > 0 THEN
        t.initiator_node_identifier::text || '/' || t.transaction_number::text || '/'
            || extract(epoch FROM t.transaction_stamp)::text
    END
    FROM pg_catalog.get_current_transaction_id() t
$function$;
REVOKE ALL ON FUNCTION proone_rls.citus_transaction() FROM PUBLIC;

-- The HMAC of `claim` bound to this distributed transaction and the principal's proof, with
-- the stored key. Owner only.
CREATE OR REPLACE FUNCTION proone_rls.citus_seal(claim text)
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(
        claim || '|' || proone_rls.citus_transaction() || '|'
            || current_setting('proone.principal', true), 'UTF8'))), 'hex')
    FROM proone_rls.signing_key k WHERE k.id = 1 AND proone_rls.citus_transaction() IS NOT NULL
$function$;
REVOKE ALL ON FUNCTION proone_rls.citus_seal(text) FROM PUBLIC;

-- The verified claim of this transaction (kind, admin tenant, visible divisions), or NULL for
-- nobody (no claim, or no proof: the scope was left); a claim forged, or sealed for another
-- transaction or proof, is an error. Owner only.
CREATE OR REPLACE FUNCTION proone_rls.citus_claim()
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    raw text := current_setting('proone.citus', true);
    at integer := strpos(coalesce(raw, ''), '|');
BEGIN
    IF raw IS NULL OR raw = '' OR coalesce(current_setting('proone.principal', true), '') = ''
    THEN
        RETURN NULL;
    END IF;
    IF at > 0 AND substr(raw, at + 1) = proone_rls.citus_seal(substr(raw, 1, at - 1)) THEN
        RETURN string_to_array(substr(raw, 1, at - 1), ';');
    END IF;
    RAISE EXCEPTION 'the Citus principal is forged or from another transaction'
        USING ERRCODE = 'insufficient_privilege';
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.citus_claim() FROM PUBLIC;

-- Whether the acting principal reads a job of `tenant` in `division`: system work, the
-- tenant's admin, or a visible division. One call per row, no table read.
CREATE OR REPLACE FUNCTION public.proone_citus_reads_job(tenant bigint, division bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 's'
        OR tenant::text = claim[2]
        OR division = ANY (claim[3]::bigint[]), false);
END
$function$;

-- Whether the acting principal writes a job of `tenant`: system work or the tenant's admin.
CREATE OR REPLACE FUNCTION public.proone_citus_writes_job(tenant bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 's' OR tenant::text = claim[2], false);
END
$function$;

-- proone_enter() keeps its name and contract for the app (the ORM layer is unchanged); the
-- plain one moves aside and the Citus one calls it first.
ALTER FUNCTION public.proone_enter(text) SET SCHEMA proone_rls;
ALTER FUNCTION proone_rls.proone_enter(text) RENAME TO enter_plain;
REVOKE ALL ON FUNCTION proone_rls.enter_plain(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.proone_enter(token text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text;
BEGIN
    PERFORM proone_rls.enter_plain(token);
    PERFORM 1 FROM proone_rls.citus_anchor;
    -- kind;admin tenant;visible divisions: system work, or a user's reach.
    claim := CASE
        WHEN public.proone_acting_system() THEN 's;;{}'
        ELSE 'u;' || coalesce(public.proone_admin_tenant()::text, '') || ';'
            || public.proone_visible_divisions()::text
    END;
    EXECUTE format('SET LOCAL citus.propagate_set_commands = %L', 'local');
    -- The proof enter_plain() stored, again as a statement Citus sends to the workers.
    EXECUTE format('SET LOCAL proone.principal = %L', current_setting('proone.principal'));
    EXECUTE format('SET LOCAL proone.citus = %L', claim || '|' || proone_rls.citus_seal(claim));
END
$function$;


CREATE POLICY proone_read ON jobs_job FOR SELECT
    USING (proone_citus_reads_job(tenant_id, division_id));
CREATE POLICY proone_insert ON jobs_job FOR INSERT
    WITH CHECK (proone_citus_writes_job(tenant_id));
CREATE POLICY proone_update ON jobs_job FOR UPDATE
    USING (proone_citus_writes_job(tenant_id)) WITH CHECK (proone_citus_writes_job(tenant_id));
CREATE POLICY proone_delete ON jobs_job FOR DELETE
    USING (proone_citus_writes_job(tenant_id));
SELECT create_distributed_table('public.jobs_job', 'tenant_id');
