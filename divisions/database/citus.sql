-- The database layer on a Citus cluster: what differs from the plain layer, applied after it
-- where the citus extension is installed (docs/scaling.md, "Citus").
--
-- The tables that grow with the work and the time, a tenant's jobs, their notes, its DataScope
-- changes and its access reviews, are distributed by tenant_id and co-located, so a tenant's
-- rows of them live on one worker. The tables that say who sees what (tenants, divisions,
-- scopes, users, django-guardian's), the sign-in path, the gate and the DataScope history
-- that their triggers record stay on the coordinator with the plain layer's policies:
-- proone_enter() reads them there once per transaction and seals what the policies of the
-- distributed tables need (the claim) for the workers.
--
-- On a worker a policy may not read the cluster's tables in a subquery (Citus refuses
-- subqueries in policies on distributed tables) nor see a setting stored with set_config().
-- So proone_enter() sends the proof and the claim with SET LOCAL, which Citus passes to every
-- worker of the transaction (citus.propagate_set_commands = 'local'), and the policies are
-- function calls on the row that read only the claim, verified against each worker's own copy
-- of the key. The claim is sealed to the principal's proof and to Citus's distributed
-- transaction id, which the app role cannot choose (the cluster revokes
-- assign_distributed_transaction_id() from it on the coordinator; on the workers, where Citus
-- calls it as the session's role, Citus built with docs/citus-transaction-id.patch and
-- docs/citus-set-local.patch assigns it only right after BEGIN, and nothing the app role may
-- call there sets a setting): a claim it writes, keeps from another transaction, or revives
-- after leaving a scope is refused.

-- Reading a reference table starts Citus's distributed transaction, so its id is known when
-- the claim is sealed. One row, owner only.
CREATE TABLE proone_rls.citus_anchor (
    id integer PRIMARY KEY CHECK (id = 1)
);

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

-- The HMAC of `claim`, bound to this distributed transaction and the principal's proof, with
-- this node's copy of the current key. Owner only.
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
REVOKE ALL ON FUNCTION proone_rls.citus_seal(claim text) FROM PUBLIC;

-- The verified claim of this transaction, or NULL for nobody (no claim, or no proof: the
-- scope was left); a claim forged, or sealed for another transaction or proof, is an error.
-- Its fields, split on ';': kind ('s' system work, 'u' a user), the admin's tenant, the
-- user's tenant, the user's division, the user's id, the visible divisions ('{...}'), the
-- scopes the user manages ('{...}', django-guardian's change_datascope), the username (last:
-- it may hold ';'). Owner only.
-- Every policy of a distributed table asks it once per row, so it is one function with no
-- SET clause (its callers, SECURITY DEFINER, pin search_path) and citus_seal()'s HMAC and
-- citus_transaction()'s binding written inline: a fraction of the cost of calling them.
CREATE OR REPLACE FUNCTION proone_rls.citus_claim()
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    raw text := pg_catalog.current_setting('proone.citus', true);
    proof text := pg_catalog.current_setting('proone.principal', true);
    at integer := pg_catalog.strpos(coalesce(raw, ''), '|');
    claim text;
    binding record;
    pads record;
BEGIN
    IF raw IS NULL OR raw = '' OR coalesce(proof, '') = '' THEN
        RETURN NULL;
    END IF;
    claim := pg_catalog.substr(raw, 1, at - 1);
    SELECT t.initiator_node_identifier, t.transaction_number, t.transaction_stamp INTO binding
    FROM pg_catalog.get_current_transaction_id() t;
    SELECT k.inner_pad, k.outer_pad INTO pads FROM proone_rls.signing_key k WHERE k.id = 1;
    IF at > 0 AND binding.transaction_number > 0
       AND pg_catalog.substr(raw, at + 1) = pg_catalog.encode(pg_catalog.sha256(pads.outer_pad
           || pg_catalog.sha256(pads.inner_pad || pg_catalog.convert_to(
               claim || '|' || binding.initiator_node_identifier::text || '/'
               || binding.transaction_number::text || '/'
               || extract(epoch FROM binding.transaction_stamp)::text || '|' || proof,
               'UTF8'))), 'hex')
    THEN
        RETURN pg_catalog.string_to_array(claim, ';');
    END IF;
    RAISE EXCEPTION 'the Citus principal is forged or from another transaction'
        USING ERRCODE = 'insufficient_privilege';
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.citus_claim() FROM PUBLIC;

-- Called by proone_enter() once the token is verified: seal the claim of the acting
-- principal and send it, with the proof, to the workers of this transaction. Owner only.
CREATE OR REPLACE FUNCTION proone_rls.citus_enter()
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
    admin_tenant bigint := public.proone_admin_tenant();
    claim text;
    divisions text := '';
    scopes text := '';
BEGIN
    PERFORM 1 FROM proone_rls.citus_anchor;
    claim := CASE
        WHEN public.proone_acting_system() THEN 's;;;;;{};{};'
        WHEN public.proone_principal() IS NOT NULL THEN
            'u;' || coalesce(admin_tenant::text, '')
            || ';' || coalesce(acting.tenant_id::text, '')
            || ';' || coalesce(acting.division_id::text, '')
            || ';' || public.proone_principal()::text
            || ';' || public.proone_visible_divisions()::text
            || ';' || public.proone_managed_scopes()::text
            || ';' || coalesce((SELECT u.username FROM public.divisions_user u
                                WHERE u.id = public.proone_principal()), '')
        ELSE 'n;;;;;{};{};'
    END;
    EXECUTE format('SET LOCAL citus.propagate_set_commands = %L', 'local');
    EXECUTE format('SET LOCAL proone.principal = %L', current_setting('proone.principal'));
    EXECUTE format('SET LOCAL proone.citus = %L', claim || '|' || proone_rls.citus_seal(claim));
    -- A tenant admin's writes name a division or scope of the admin's tenant only: the
    -- tenant's divisions and scopes, each sealed apart from the claim (only writes read them).
    IF admin_tenant IS NOT NULL THEN
        divisions := 'divisions ' || ARRAY(
            SELECT d.id FROM public.divisions_division d WHERE d.tenant_id = admin_tenant
            ORDER BY d.id)::text;
        divisions := divisions || '|' || proone_rls.citus_seal(divisions);
        scopes := 'scopes ' || ARRAY(
            SELECT s.id FROM public.divisions_datascope s WHERE s.tenant_id = admin_tenant
            ORDER BY s.id)::text;
        scopes := scopes || '|' || proone_rls.citus_seal(scopes);
    END IF;
    EXECUTE format('SET LOCAL proone.citus_divisions = %L', divisions);
    EXECUTE format('SET LOCAL proone.citus_scopes = %L', scopes);
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.citus_enter() FROM PUBLIC;

-- The ids a tenant admin's setting `name` lists under `label` ('<label> {...}|<seal>', from
-- citus_enter()), or NULL when it lists none; a list forged, sealed for another transaction or
-- proof, or filed under another label is an error. Owner only.
CREATE OR REPLACE FUNCTION proone_rls.citus_sealed(name text, label text)
 RETURNS bigint[]
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    raw text := current_setting(name, true);
    at integer := strpos(coalesce(raw, ''), '|');
BEGIN
    IF at = 0 THEN
        RETURN NULL;
    END IF;
    IF substr(raw, at + 1) IS DISTINCT FROM proone_rls.citus_seal(substr(raw, 1, at - 1))
       OR substr(raw, 1, length(label) + 1) <> label || ' ' THEN
        RAISE EXCEPTION 'the Citus principal is forged or from another transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN substr(raw, length(label) + 2, at - length(label) - 2)::bigint[];
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.citus_sealed(name text, label text) FROM PUBLIC;

-- The workers' copy of the current key, written whenever the coordinator's changes
-- (`manage.py create_db_roles`), in a plain table of each worker that only the owner reads.
-- A node added later gets it at the next `create_db_roles`; until then its claims fail.
CREATE OR REPLACE FUNCTION proone_rls.citus_copy_key()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    pads record;
    command text;
    failed text;
BEGIN
    SELECT k.inner_pad, k.outer_pad INTO pads FROM proone_rls.signing_key k WHERE k.id = 1;
    IF pads IS NULL THEN
        RETURN NULL;
    END IF;
    -- One statement per call: a worker takes each as a statement of its own.
    FOREACH command IN ARRAY ARRAY[
        'CREATE TABLE IF NOT EXISTS proone_rls.signing_key (id integer PRIMARY KEY CHECK (id = 1), '
            'inner_pad bytea NOT NULL, outer_pad bytea NOT NULL)',
        'REVOKE ALL ON proone_rls.signing_key FROM PUBLIC',
        format('INSERT INTO proone_rls.signing_key VALUES (1, %L, %L) ON CONFLICT (id) '
               'DO UPDATE SET inner_pad = EXCLUDED.inner_pad, outer_pad = EXCLUDED.outer_pad',
               pads.inner_pad, pads.outer_pad)
    ] LOOP
        SELECT string_agg(r.nodename || ':' || r.nodeport || ' ' || r.result, '; ') INTO failed
        FROM pg_catalog.run_command_on_workers(command) r WHERE NOT r.success;
        IF failed IS NOT NULL THEN
            RAISE EXCEPTION 'could not copy the signing key to every worker: %', failed;
        END IF;
    END LOOP;
    RETURN NULL;
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.citus_copy_key() FROM PUBLIC;

CREATE TRIGGER proone_citus_copy_key AFTER INSERT OR UPDATE ON proone_rls.signing_key
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.citus_copy_key();

-- Whether the acting principal reads a job of `tenant` in `division`: system work, the
-- tenant's admin, or a member of the tenant for whom the division is visible. The tenant is
-- compared too: no foreign key ties a distributed job's division to its tenant.
CREATE OR REPLACE FUNCTION public.proone_citus_reads_job(tenant bigint, division bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 's' OR tenant::text = claim[2]
        OR (tenant::text = claim[3] AND division = ANY (claim[6]::bigint[])), false);
END
$function$;

-- Whether the acting principal is system work or the admin of `tenant`: who creates, moves or
-- deletes a job or note of the tenant, and reads its access reviews.
CREATE OR REPLACE FUNCTION public.proone_citus_writes(tenant bigint)
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

-- Whether a job written by the acting principal names `division` of its own `tenant` (or
-- none): the foreign key job_division_same_tenant of one server, which a distributed job
-- cannot have (its divisions stay on the coordinator). System work is trusted; a tenant
-- admin's division must be one of the tenant's divisions sealed when the scope began.
CREATE OR REPLACE FUNCTION public.proone_citus_division_in_tenant(tenant bigint, division bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    IF claim[1] = 's' OR division IS NULL THEN
        RETURN claim IS NOT NULL;
    END IF;
    IF claim[1] <> 'u' OR tenant::text IS DISTINCT FROM claim[2] THEN
        RETURN false;
    END IF;
    RETURN coalesce(
        division = ANY (proone_rls.citus_sealed('proone.citus_divisions', 'divisions')), false);
END
$function$;

-- Whether a job of `tenant` in `division` is one of the acting user's own division: its
-- members change the status of its jobs.
CREATE OR REPLACE FUNCTION public.proone_citus_own_division(tenant bigint, division bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 'u' AND tenant::text = claim[3] AND division::text = claim[4],
                    false);
END
$function$;

-- A member's status change keeps every other column of the job as stored when the statement
-- began (proone_job_kept() of the plain layer). The stored row is read on the worker that
-- holds it: the tenant routes the read to the co-located shard, run locally.
CREATE OR REPLACE FUNCTION public.proone_citus_job_kept(job_id bigint, tenant bigint, division bigint, title text, description text, created_at timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET citus.allow_nested_distributed_execution TO 'on'
AS $function$
BEGIN
    RETURN public.proone_citus_own_division(tenant, division) AND EXISTS (
        SELECT 1 FROM public.jobs_job j
        WHERE j.tenant_id = tenant AND j.id = job_id
          AND j.division_id = division
          AND j.title = proone_citus_job_kept.title
          AND j.description = proone_citus_job_kept.description
          AND j.created_at = proone_citus_job_kept.created_at
    );
END
$function$;

-- Whether the acting principal reads a note of `tenant` on job `job_id`: system work, or the
-- job is one it reads (the job's row, on the same worker as the note).
CREATE OR REPLACE FUNCTION public.proone_citus_reads_note(tenant bigint, job_id bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET citus.allow_nested_distributed_execution TO 'on'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    IF claim IS NULL THEN
        RETURN false;
    END IF;
    RETURN claim[1] = 's' OR coalesce((
        SELECT public.proone_citus_reads_job(j.tenant_id, j.division_id) FROM public.jobs_job j
        WHERE j.tenant_id = tenant AND j.id = job_id), false);
END
$function$;

-- Whether the acting user adds this note: on a job of its tenant it reads, in its own name.
CREATE OR REPLACE FUNCTION public.proone_citus_adds_note(tenant bigint, job_id bigint, author_id bigint, author_name text)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 's' OR (
        claim[1] = 'u' AND tenant::text = claim[3] AND author_id::text = claim[5]
        AND author_name = array_to_string(claim[8:], ';')
        AND public.proone_citus_reads_note(tenant, job_id)), false);
END
$function$;

-- A note is never edited: only system work changes it, or a tenant admin clearing its author
-- (when the author's user is deleted), keeping every other column as stored when the
-- statement began (proone_note_kept() of the plain layer).
CREATE OR REPLACE FUNCTION public.proone_citus_note_kept(note_id bigint, tenant bigint, job_id bigint, author_id bigint, author_name text, body text, created_at timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET citus.allow_nested_distributed_execution TO 'on'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 's' OR (
        claim[1] = 'u' AND tenant::text = claim[2] AND author_id IS NULL AND EXISTS (
            SELECT 1 FROM public.jobs_jobnote n
            WHERE n.tenant_id = tenant AND n.id = note_id
              AND n.job_id = proone_citus_note_kept.job_id
              AND n.author_name = proone_citus_note_kept.author_name
              AND n.body = proone_citus_note_kept.body
              AND n.created_at = proone_citus_note_kept.created_at
        )), false);
END
$function$;

-- Whether the acting principal is system work.
CREATE OR REPLACE FUNCTION public.proone_citus_system()
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    RETURN coalesce((proone_rls.citus_claim())[1] = 's', false);
END
$function$;

-- Whether the acting principal reads a DataScope change of `tenant`: system work or a user of
-- the tenant.
CREATE OR REPLACE FUNCTION public.proone_citus_in_tenant(tenant bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 's' OR (claim[1] = 'u' AND tenant::text = claim[3]), false);
END
$function$;

-- Whether the acting principal records a change of `tenant`'s scope `scope`: system work, the
-- tenant's admin (a scope of the tenant's, sealed when the scope began: the foreign key
-- scopechange_scope_same_tenant of one server), or the scope's manager in the tenant.
CREATE OR REPLACE FUNCTION public.proone_citus_manages_scope(tenant bigint, scope bigint)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    IF claim[1] = 's' THEN
        RETURN true;
    END IF;
    IF claim[1] IS DISTINCT FROM 'u' THEN
        RETURN false;
    END IF;
    IF tenant::text = claim[3] AND scope = ANY (claim[7]::bigint[]) THEN
        RETURN true;
    END IF;
    RETURN coalesce(tenant::text = claim[2]
        AND scope = ANY (proone_rls.citus_sealed('proone.citus_scopes', 'scopes')), false);
END
$function$;

-- Whether the acting principal adds this access review of `tenant`: system work, or the
-- tenant's admin in their own name (id and username), made now.
CREATE OR REPLACE FUNCTION public.proone_citus_adds_review(tenant bigint, reviewer bigint, reviewer_name text, reviewed_at timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    claim text[] := proone_rls.citus_claim();
BEGIN
    RETURN coalesce(claim[1] = 's' OR (
        claim[1] = 'u' AND tenant::text = claim[2] AND reviewer::text = claim[5]
        AND reviewer_name = array_to_string(claim[8:], ';')
        AND reviewed_at BETWEEN now() - interval '5 minutes'
            AND clock_timestamp() + interval '5 minutes'), false);
END
$function$;

CREATE POLICY proone_read ON jobs_job
    FOR SELECT
    USING (proone_citus_reads_job(tenant_id, division_id));

CREATE POLICY proone_insert ON jobs_job
    FOR INSERT
    WITH CHECK (
        proone_citus_writes(tenant_id) AND proone_citus_division_in_tenant(tenant_id, division_id)
    );

CREATE POLICY proone_update ON jobs_job
    FOR UPDATE
    USING (proone_citus_writes(tenant_id))
    WITH CHECK (
        proone_citus_writes(tenant_id) AND proone_citus_division_in_tenant(tenant_id, division_id)
    );

CREATE POLICY proone_update_status ON jobs_job
    FOR UPDATE
    USING (proone_citus_own_division(tenant_id, division_id))
    WITH CHECK (
        proone_citus_own_division(tenant_id, division_id)
        AND proone_citus_job_kept(id, tenant_id, division_id, (title)::text, description, created_at)
    );

CREATE POLICY proone_delete ON jobs_job
    FOR DELETE
    USING (proone_citus_writes(tenant_id));

CREATE POLICY proone_read ON jobs_jobnote
    FOR SELECT
    USING (proone_citus_reads_note(tenant_id, job_id));

CREATE POLICY proone_insert ON jobs_jobnote
    FOR INSERT
    WITH CHECK (proone_citus_adds_note(tenant_id, job_id, author_id, (author_name)::text));

CREATE POLICY proone_update ON jobs_jobnote
    FOR UPDATE
    USING (proone_citus_writes(tenant_id))
    WITH CHECK (
        proone_citus_note_kept(id, tenant_id, job_id, author_id, (author_name)::text, body, created_at)
    );

CREATE POLICY proone_delete ON jobs_jobnote
    FOR DELETE
    USING (proone_citus_writes(tenant_id));

CREATE POLICY proone_read ON divisions_datascopechange
    FOR SELECT
    USING (proone_citus_in_tenant(tenant_id));

CREATE POLICY proone_insert ON divisions_datascopechange
    FOR INSERT
    WITH CHECK (proone_citus_manages_scope(tenant_id, datascope_id));

CREATE POLICY proone_update ON divisions_datascopechange
    FOR UPDATE
    USING (proone_citus_manages_scope(tenant_id, datascope_id))
    WITH CHECK (proone_citus_manages_scope(tenant_id, datascope_id));

CREATE POLICY proone_delete ON divisions_datascopechange
    FOR DELETE
    USING (proone_citus_manages_scope(tenant_id, datascope_id));

CREATE POLICY proone_read ON divisions_accessreview
    FOR SELECT
    USING (proone_citus_writes(tenant_id));

CREATE POLICY proone_insert ON divisions_accessreview
    FOR INSERT
    WITH CHECK (
        proone_citus_adds_review(tenant_id, reviewed_by_id, (reviewed_by_name)::text, reviewed_at)
    );

CREATE POLICY proone_update ON divisions_accessreview
    FOR UPDATE
    USING (proone_citus_system())
    WITH CHECK (proone_citus_system());

CREATE POLICY proone_delete ON divisions_accessreview
    FOR DELETE
    USING (proone_citus_system());
