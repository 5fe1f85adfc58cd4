"""
The database layer on an empty database: the notes' and the admin log's keys, then everything
divisions/database/ states but the tokens' part (which comes with the tokens' table, in api),
then the principal's signing key. PostgreSQL only; elsewhere the ORM alone scopes queries.

FORWARD is the layer as the migrations it replaces left it, rendered as `manage.py
makesqlmigration` renders the source: with four functions nothing calls any more
(proone_principal_kind, proone_rls.sign, proone_rls.transaction_binding,
proone_rls.well_formed), which 0016 removes on every database alike. Later changes to the
source come as further migrations generated the same way.
"""

from django.db import migrations

from divisions.database.operations import PostgresSQL
from divisions.rls import store_signing_key

# A note's tenant agrees with its job's. The admin log carries its author's tenant (stamped by
# proone_rls.admin_log_stamp) and keeps the entries of a deleted author.
KEYS = r"""
ALTER TABLE jobs_job ADD CONSTRAINT job_id_tenant UNIQUE (id, tenant_id);
ALTER TABLE jobs_jobnote ADD CONSTRAINT jobnote_job_same_tenant
    FOREIGN KEY (job_id, tenant_id) REFERENCES jobs_job (id, tenant_id);
ALTER TABLE django_admin_log ADD COLUMN tenant_id bigint;
ALTER TABLE django_admin_log ALTER COLUMN user_id DROP NOT NULL;
DO $$
DECLARE
    found record;
BEGIN
    SELECT c.conname, pg_get_constraintdef(c.oid) AS definition INTO found
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = 'public.django_admin_log'::regclass AND c.contype = 'f'
      AND a.attname = 'user_id';
    EXECUTE format('ALTER TABLE public.django_admin_log DROP CONSTRAINT %I', found.conname);
    EXECUTE format(
        'ALTER TABLE public.django_admin_log ADD CONSTRAINT %I %s ON DELETE SET NULL '
            'DEFERRABLE INITIALLY DEFERRED',
        found.conname,
        regexp_replace(found.definition, ' (ON DELETE .*|DEFERRABLE.*)$', '')
    );
END
$$;
"""

UNDO_KEYS = r"""
DO $$
DECLARE
    found record;
BEGIN
    SELECT c.conname, pg_get_constraintdef(c.oid) AS definition INTO found
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = 'public.django_admin_log'::regclass AND c.contype = 'f'
      AND a.attname = 'user_id';
    EXECUTE format('ALTER TABLE public.django_admin_log DROP CONSTRAINT %I', found.conname);
    EXECUTE format(
        'ALTER TABLE public.django_admin_log ADD CONSTRAINT %I %s DEFERRABLE INITIALLY DEFERRED',
        found.conname,
        regexp_replace(found.definition, ' (ON DELETE .*|DEFERRABLE.*)$', '')
    );
END
$$;
DELETE FROM django_admin_log WHERE user_id IS NULL;
ALTER TABLE django_admin_log ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE django_admin_log DROP COLUMN tenant_id;
ALTER TABLE jobs_jobnote DROP CONSTRAINT jobnote_job_same_tenant;
ALTER TABLE jobs_job DROP CONSTRAINT job_id_tenant;
"""

FORWARD = r"""
-- The principal: who the current transaction acts for, as the database verifies it.
--
-- The app signs a token (kind, id, time) with RLS_SIGNING_KEY and hands it to proone_enter()
-- once per transaction; proone_enter() checks it and stores a proof bound to this backend and
-- this transaction in the setting proone.principal. Every policy asks the functions below,
-- which verify that proof: the app role can write any setting, so a setting alone proves
-- nothing. Kinds: 'u' a user, 's' system work (unscoped), 'n' a sign-in look-up by username.
-- Every function pins search_path, so no temporary table or other schema can stand in for
-- the tables and functions named here.

CREATE SCHEMA proone_rls;
REVOKE ALL ON SCHEMA proone_rls FROM PUBLIC;

-- The HMAC-SHA256 key as its two pads, so the built-in sha256() computes a standard HMAC.
-- Only the owner role reads it, through the SECURITY DEFINER functions below;
-- `manage.py create_db_roles` stores it (divisions/rls.py).
CREATE TABLE proone_rls.signing_key (
    id integer PRIMARY KEY CHECK (id = 1),
    inner_pad bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea NOT NULL CHECK (length(outer_pad) = 64)
);

-- The verified (kind, id) of this transaction's proof, or NULL for nobody; a proof that was
-- forged or copied from another transaction is an error. Owner only. The HMAC and the
-- transaction binding (backend pid, transaction start) are written inline so the function's
-- plan is kept.
CREATE OR REPLACE FUNCTION proone_rls.verified_principal()
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    raw text := current_setting('proone.principal', true);
    parts text[];
    well_formed boolean;
    expected text;
BEGIN
    IF raw IS NULL OR raw = '' THEN
        RETURN NULL;
    END IF;
    parts := string_to_array(raw, ':');
    -- proone_rls.well_formed(), inline (an IF's condition cannot hold a CASE's THEN).
    well_formed := coalesce(array_length(parts, 1), 0) = 3 AND CASE parts[1]
        WHEN 'u' THEN parts[2] ~ '^[1-9][0-9]{0,17}$'
        WHEN 's' THEN parts[2] = '0'
        WHEN 'n' THEN parts[2] ~ '^([0-9a-f]{2})+$' AND length(parts[2]) <= 1200
        ELSE false
    END;
    IF well_formed THEN
        SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(
                   parts[1] || ':' || parts[2] || ':' || pg_backend_pid()::text || ':'
                       || extract(epoch FROM now())::text,
                   'UTF8'))), 'hex')
        INTO expected
        FROM proone_rls.signing_key k WHERE k.id = 1;
        IF parts[3] = expected THEN
            RETURN ARRAY[parts[1], parts[2]];
        END IF;
    END IF;
    RAISE EXCEPTION 'the row-level security principal is forged or from another transaction'
        USING ERRCODE = 'insufficient_privilege';
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.verified_principal() FROM PUBLIC;

-- The acting user's row as the rule reads it: (tenant, division, tenant admin) of an active
-- user with a tenant, else NULLs and false. NULL for system work and nobody. Owner only.
CREATE OR REPLACE FUNCTION proone_rls.acting_user(OUT tenant_id bigint, OUT division_id bigint, OUT tenant_admin boolean)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    principal text[] := proone_rls.verified_principal();
BEGIN
    tenant_admin := false;
    IF principal[1] IS DISTINCT FROM 'u' THEN
        RETURN;
    END IF;
    SELECT u.tenant_id, u.division_id, u.is_tenant_admin AND u.is_staff
    INTO tenant_id, division_id, tenant_admin
    FROM public.divisions_user u
    WHERE u.id = principal[2]::bigint AND u.is_active AND u.tenant_id IS NOT NULL;
    tenant_admin := coalesce(tenant_admin, false);
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.acting_user(OUT tenant_id bigint, OUT division_id bigint, OUT tenant_admin boolean) FROM PUBLIC;

-- Called by the app once per transaction with a token it signed (kind:id:time:signature).
-- Refuses a malformed or wrongly signed token, one older than ten seconds or dated more than
-- two seconds ahead, then stores a proof bound to this transaction for the functions below.
-- The key is read once and both HMACs (the token's and the proof's) computed inline.
CREATE OR REPLACE FUNCTION public.proone_enter(token text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    parts text[] := string_to_array(token, ':');
    well_formed boolean;
    inner_pad bytea;
    outer_pad bytea;
    principal text;
    age numeric;
BEGIN
    well_formed := coalesce(array_length(parts, 1), 0) = 4 AND coalesce(CASE parts[1]
        WHEN 'u' THEN parts[2] ~ '^[1-9][0-9]{0,17}$'
        WHEN 's' THEN parts[2] = '0'
        WHEN 'n' THEN parts[2] ~ '^([0-9a-f]{2})+$' AND length(parts[2]) <= 1200
        ELSE false
    END, false) AND parts[3] ~ '^[0-9]{1,12}$';
    IF NOT well_formed THEN
        RAISE EXCEPTION 'malformed principal token' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT k.inner_pad, k.outer_pad INTO inner_pad, outer_pad
    FROM proone_rls.signing_key k WHERE k.id = 1;
    IF inner_pad IS NULL THEN
        RAISE EXCEPTION 'no row-level security signing key is stored in this database'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run manage.py create_db_roles (see docs/security.md).';
    END IF;
    principal := parts[1] || ':' || parts[2];
    IF parts[4] IS DISTINCT FROM encode(sha256(outer_pad || sha256(inner_pad || convert_to(
            principal || ':' || parts[3], 'UTF8'))), 'hex') THEN
        RAISE EXCEPTION 'principal token signature is invalid'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The key stored in the database differs from RLS_SIGNING_KEY: '
                         'run manage.py create_db_roles (see docs/security.md).';
    END IF;
    age := extract(epoch FROM clock_timestamp()) - parts[3]::bigint;
    IF age > 10 THEN
        RAISE EXCEPTION 'principal token is older than ten seconds'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Are the app and database clocks in sync?';
    END IF;
    IF age < -2 THEN
        RAISE EXCEPTION 'principal token is dated in the future'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Are the app and database clocks in sync (2 seconds of skew allowed)?';
    END IF;
    -- The proof: the same HMAC over the principal and this transaction's binding.
    PERFORM set_config(
        'proone.principal',
        principal || ':' || encode(sha256(outer_pad || sha256(inner_pad || convert_to(
            principal || ':' || pg_backend_pid()::text || ':' || extract(epoch FROM now())::text,
            'UTF8'))), 'hex'),
        true
    );
END
$function$;

-- The acting user's id; NULL for system work, a sign-in look-up, or nobody.
CREATE OR REPLACE FUNCTION public.proone_principal()
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    principal text[] := proone_rls.verified_principal();
BEGIN
    IF principal[1] = 'u' THEN
        RETURN principal[2]::bigint;
    END IF;
    RETURN NULL;
END
$function$;

-- System work is a kind of principal, never a user id. Only a claim of it needs its proof
-- checked: "no" grants nothing.
CREATE OR REPLACE FUNCTION public.proone_acting_system()
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF left(current_setting('proone.principal', true), 2) IS DISTINCT FROM 's:' THEN
        RETURN false;
    END IF;
    RETURN coalesce((proone_rls.verified_principal())[1] = 's', false);
END
$function$;

-- The username a sign-in look-up may read, NULL for any other principal (without its proof:
-- NULL grants nothing).
CREATE OR REPLACE FUNCTION public.proone_login_name()
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    principal text[];
BEGIN
    IF left(current_setting('proone.principal', true), 2) IS DISTINCT FROM 'n:' THEN
        RETURN NULL;
    END IF;
    principal := proone_rls.verified_principal();
    IF principal[1] = 'n' THEN
        RETURN convert_from(decode(principal[2], 'hex'), 'UTF8');
    END IF;
    RETURN NULL;
END
$function$;

-- The visibility rule (SPEC "The visibility rule"), worked out inside the database from the
-- tables and the verified principal. The ORM states the same rule in
-- divisions/visibility/rule.py; tests/oracle.py states it once more for checking both.

-- The acting user's tenant, when the user is active (NULL otherwise: nothing is visible).
CREATE OR REPLACE FUNCTION public.proone_acting_tenant()
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ BEGIN RETURN (proone_rls.acting_user()).tenant_id; END $function$;

-- Rule 1: a tenant admin (is_tenant_admin and is_staff) sees every job of the tenant.
CREATE OR REPLACE FUNCTION public.proone_acting_tenant_admin()
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ BEGIN RETURN (proone_rls.acting_user()).tenant_admin; END $function$;

-- The acting user's tenant when the user is its tenant admin (is_tenant_admin and is_staff,
-- active), else NULL; NULL for system work, a sign-in look-up and nobody.
CREATE OR REPLACE FUNCTION public.proone_admin_tenant()
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
BEGIN
    IF acting.tenant_admin THEN
        RETURN acting.tenant_id;
    END IF;
    RETURN NULL;
END
$function$;

-- Rule 2: divisions D of the user's tenant where D is the user's division, D's scope is
-- everyone, or the user's division is listed in D's scope.
--
-- Every statement on jobs asks for this list, so the first call in a transaction keeps it in
-- the transaction-local setting proone.visible, sealed (proone_rls.visible_seal) over the
-- list, the principal's proof and the transaction; later calls return it while the seal
-- matches. The app role can write the setting but not seal it: a value it writes, or one kept
-- for another principal or transaction, does not match and is worked out again. A write to a
-- table the list is read from forgets it (proone_forget_visible), so the next statement reads
-- the change; what other transactions commit is read by the next transaction.
CREATE OR REPLACE FUNCTION public.proone_visible_divisions()
 RETURNS bigint[]
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    proof text := current_setting('proone.principal', true);
    kept text := current_setting('proone.visible', true);
    at integer;
    acting record;
    visible bigint[];
BEGIN
    -- A list kept earlier in this transaction for this proof: '{ids}' || '|' || seal.
    at := strpos(coalesce(kept, ''), '|');
    IF at > 0 AND coalesce(proof, '') <> ''
       AND substr(kept, at + 1) = proone_rls.visible_seal(substr(kept, 1, at - 1), proof) THEN
        RETURN substr(kept, 1, at - 1)::bigint[];
    END IF;
    acting := proone_rls.acting_user();
    IF acting.tenant_id IS NULL THEN
        RETURN '{}';
    END IF;
    visible := (
        SELECT coalesce(array_agg(d.id), '{}')
        FROM public.divisions_division d
        JOIN public.divisions_datascope s ON s.id = d.data_scope_id
        WHERE d.tenant_id = acting.tenant_id
          AND (d.id = acting.division_id
               OR s.is_everyone
               -- The scopes listing the user's division, read once by its index (an
               -- EXISTS here hashed every membership of every tenant).
               OR s.id = ANY (ARRAY(SELECT m.datascope_id
                                    FROM public.divisions_datascopedivision m
                                    WHERE m.division_id = acting.division_id)))
    );
    -- acting_user() verified the proof: seal the list for it and this transaction.
    PERFORM set_config(
        'proone.visible', visible::text || '|' || proone_rls.visible_seal(visible::text, proof),
        true
    );
    RETURN visible;
END
$function$;

-- The HMAC sealing a kept list: over the list, the principal's proof and this transaction
-- (backend pid and start): a later call trusts the seal without verifying the proof again.
CREATE OR REPLACE FUNCTION proone_rls.visible_seal(listed text, proof text)
 RETURNS text
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    seal text;
BEGIN
    SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(
               'visible:' || listed || ':' || proof || ':' || pg_backend_pid()::text || ':'
                   || extract(epoch FROM now())::text,
               'UTF8'))), 'hex')
    INTO seal
    FROM proone_rls.signing_key k WHERE k.id = 1;
    RETURN seal;
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.visible_seal(listed text, proof text) FROM PUBLIC;

-- A write to a table the list is read from: the next call works the list out again.
CREATE OR REPLACE FUNCTION proone_rls.forget_visible()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    PERFORM set_config('proone.visible', '', true);
    RETURN NULL;
END
$function$;

-- The DataScopes of the acting user's tenant that the user holds change_datascope on.
CREATE OR REPLACE FUNCTION public.proone_managed_scopes()
 RETURNS bigint[]
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting_id bigint := public.proone_principal();
BEGIN
    IF acting_id IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN (
        SELECT coalesce(array_agg(s.id), '{}')
        FROM public.guardian_userobjectpermission g
        JOIN public.auth_permission p ON p.id = g.permission_id
        JOIN public.django_content_type ct
            ON ct.id = p.content_type_id AND ct.id = g.content_type_id
        JOIN public.divisions_user u ON u.id = g.user_id
        JOIN public.divisions_datascope s ON s.id::text = g.object_pk AND s.tenant_id = u.tenant_id
        WHERE g.user_id = acting_id AND u.is_active
          AND ct.app_label = 'divisions' AND ct.model = 'datascope'
          AND p.codename = 'change_datascope'
    );
END
$function$;

-- Every user id of the acting user's tenant (for tenant admins' grants).
CREATE OR REPLACE FUNCTION public.proone_tenant_users()
 RETURNS bigint[]
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    tenant bigint := (proone_rls.acting_user()).tenant_id;
BEGIN
    RETURN (SELECT coalesce(array_agg(u.id), '{}') FROM public.divisions_user u
            WHERE u.tenant_id = tenant);
END
$function$;

-- What the app role may not rewrite, even inside a member's principal: the user columns that
-- decide visibility, access tokens, sessions (read by a hash of their key), the admin log's
-- tenant and time.

-- The columns that decide what a user sees, as one comparable value.
CREATE OR REPLACE FUNCTION public.proone_user_guard(tenant_id bigint, division_id bigint, is_active boolean, is_staff boolean, is_superuser boolean, is_tenant_admin boolean)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT format('%s|%s|%s|%s|%s|%s', tenant_id, division_id, is_active, is_staff,
                    is_superuser, is_tenant_admin) $function$;

-- The columns that decide what a user sees, for the acting user's row as stored when the
-- statement began.
CREATE OR REPLACE FUNCTION public.proone_stored_user_guard()
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting_id bigint := public.proone_principal();
BEGIN
    RETURN (
        SELECT public.proone_user_guard(u.tenant_id, u.division_id, u.is_active, u.is_staff,
                                        u.is_superuser, u.is_tenant_admin)
        FROM public.divisions_user u WHERE u.id = acting_id
    );
END
$function$;

-- A new entry: its author's tenant, and the database's time for anyone but system work (an
-- update, system work only, keeps both).
CREATE OR REPLACE FUNCTION proone_rls.admin_log_stamp()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    NEW.tenant_id := (SELECT u.tenant_id FROM public.divisions_user u WHERE u.id = NEW.user_id);
    IF NOT public.proone_acting_system() THEN
        NEW.action_time := now();
    END IF;
    RETURN NEW;
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.admin_log_stamp() FROM PUBLIC;

CREATE OR REPLACE FUNCTION proone_rls.session_id(session_key text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT left(encode(sha256(convert_to(session_key, 'UTF8')), 'hex'), 40) $function$;
REVOKE ALL ON FUNCTION proone_rls.session_id(session_key text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.proone_session_load(session_key text)
 RETURNS text
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
    SELECT s.session_data FROM django_session s
    WHERE s.session_key = proone_rls.session_id($1) AND s.expire_date > now()
$function$;

CREATE OR REPLACE FUNCTION public.proone_session_exists(session_key text)
 RETURNS boolean
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
    SELECT EXISTS (SELECT 1 FROM django_session s
                   WHERE s.session_key = proone_rls.session_id($1))
$function$;

-- Insert (must_create: false when the key is taken) or update (false when it is gone).
CREATE OR REPLACE FUNCTION public.proone_session_save(session_key text, session_data text, expire_date timestamp with time zone, must_create boolean)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
BEGIN
    IF must_create THEN
        INSERT INTO django_session (session_key, session_data, expire_date)
        VALUES (proone_rls.session_id($1), $2, $3)
        ON CONFLICT DO NOTHING;
    ELSE
        UPDATE django_session s SET session_data = $2, expire_date = $3
        WHERE s.session_key = proone_rls.session_id($1);
    END IF;
    RETURN FOUND;
END
$function$;

CREATE OR REPLACE FUNCTION public.proone_session_delete(session_key text)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$ DELETE FROM django_session s WHERE s.session_key = proone_rls.session_id($1) $function$;

CREATE OR REPLACE FUNCTION public.proone_session_clear_expired()
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$ DELETE FROM django_session s WHERE s.expire_date < now() $function$;

-- The title search: a member's matching jobs found per visible division in creation order,
-- merged, so a common word reads a page's worth of each division instead of every match.

CREATE OR REPLACE FUNCTION public.proone_title_matches(term text, only_status text, only_division bigint, wanted integer, before_created timestamp with time zone, before_id bigint)
 RETURNS SETOF bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 30
 SET plan_cache_mode TO 'force_custom_plan'
 SET max_parallel_workers_per_gather TO '0'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
    visible bigint[];
    searched bigint[];
    pattern text;
    newest_created timestamptz := coalesce(before_created, 'infinity');
    newest_id bigint := coalesce(before_id, 9223372036854775807);
    found bigint[];
BEGIN
    IF acting.tenant_id IS NULL OR term IS NULL OR wanted IS NULL OR wanted < 1 THEN
        RETURN;
    END IF;
    wanted := least(wanted, 10000);
    IF NOT acting.tenant_admin THEN
        visible := public.proone_visible_divisions();
    END IF;
    pattern := '%' || upper(replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_'))
               || '%';
    -- The divisions to read one by one: the filter's (if visible) or the member's own.
    IF only_division IS NOT NULL THEN
        searched := CASE WHEN acting.tenant_admin OR only_division = ANY (visible)
                         THEN ARRAY[only_division] ELSE '{}' END;
    ELSIF NOT acting.tenant_admin AND cardinality(visible) <= 10 THEN
        searched := visible;
    END IF;
    IF searched IS NOT NULL THEN
        IF cardinality(searched) = 0 THEN
            RETURN;
        END IF;
        -- A sample of each division's jobs (WALK in all, by the division index, in no
        -- order): the word's density among them decides, as the newest WALK did.
        SELECT coalesce(array_agg(p.id) FILTER (WHERE p.hit), '{}') INTO found
        FROM unnest(searched) AS s(division_id)
        CROSS JOIN LATERAL (
            SELECT j.id, upper(j.title::text) LIKE pattern AS hit
            FROM public.jobs_job j
            WHERE j.division_id = s.division_id AND j.tenant_id = acting.tenant_id
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
            LIMIT 300 / cardinality(searched) + 1) p;
        found := found[1:wanted];
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 OR cardinality(searched) <= 3 THEN
            -- Read on in no order until `wanted` matches (the CASE hides the pattern, as
            -- in 0007): the division index, division after division.
            RETURN QUERY
            SELECT j.id FROM public.jobs_job j
            WHERE j.division_id = ANY (searched) AND j.tenant_id = acting.tenant_id
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            LIMIT wanted;
            RETURN;
        END IF;
    ELSE
        -- 0007's first pass: the newest WALK visible jobs of the tenant.
        SELECT coalesce(array_agg(w.id), '{}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT j.id, upper(j.title::text) LIKE pattern AS hit
                  FROM public.jobs_job j
                  WHERE j.tenant_id = acting.tenant_id
                    AND (acting.tenant_admin OR j.division_id = ANY (visible))
                    AND (j.created_at, j.id) < (newest_created, newest_id)
                    AND (only_status IS NULL OR j.status = only_status)
                  ORDER BY j.created_at DESC, j.id DESC
                  LIMIT 300) n
              WHERE n.hit
              LIMIT wanted) w;
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 THEN
            -- A common word: the tenant, in no order (see 0007 for the CASE).
            RETURN QUERY
            SELECT j.id FROM public.jobs_job j
            WHERE j.tenant_id = acting.tenant_id
              AND (acting.tenant_admin OR j.division_id = ANY (visible))
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            LIMIT wanted;
            RETURN;
        END IF;
    END IF;
    -- A rare word: the trigram index (jobs.0002), materialised as in 0007.
    RETURN QUERY
    WITH matches AS MATERIALIZED (
        SELECT j.id, j.created_at FROM public.jobs_job j
        WHERE upper(j.title::text) LIKE pattern
          AND j.tenant_id = acting.tenant_id
          AND (searched IS NULL OR j.division_id + 0 = ANY (searched))
          AND (acting.tenant_admin OR j.division_id + 0 = ANY (visible))
          AND (j.created_at, j.id) < (newest_created, newest_id)
          AND (only_status IS NULL OR j.status = only_status)
    )
    SELECT m.id FROM matches m
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT wanted;
END
$function$;

CREATE OR REPLACE FUNCTION public.proone_title_search(term text, only_status text, only_division bigint, wanted integer, before_created timestamp with time zone, before_id bigint)
 RETURNS SETOF bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 30
 SET plan_cache_mode TO 'force_custom_plan'
 SET max_parallel_workers_per_gather TO '0'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
    visible bigint[];
    searched bigint[];
    pattern text;
    newest_created timestamptz := coalesce(before_created, 'infinity');
    newest_id bigint := coalesce(before_id, 9223372036854775807);
    found bigint[];
BEGIN
    IF acting.tenant_id IS NULL OR term IS NULL OR wanted IS NULL OR wanted < 1 THEN
        RETURN;
    END IF;
    wanted := least(wanted, 10000);
    IF NOT acting.tenant_admin THEN
        visible := public.proone_visible_divisions();
    END IF;
    pattern := '%' || upper(replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_'))
               || '%';
    -- The divisions to read one by one: the filter's (if visible) or the member's own.
    IF only_division IS NOT NULL THEN
        searched := CASE WHEN acting.tenant_admin OR only_division = ANY (visible)
                         THEN ARRAY[only_division] ELSE '{}' END;
    ELSIF NOT acting.tenant_admin AND cardinality(visible) <= 10 THEN
        searched := visible;
    END IF;
    IF searched IS NOT NULL THEN
        IF cardinality(searched) = 0 THEN
            RETURN;
        END IF;
        -- The first matches among the newest WALK jobs of those divisions: one newest-first
        -- scan per division, merged (a UNION ALL of ordered, limited branches is what
        -- PostgreSQL reads as a Merge Append of the covering division index, which stops
        -- once the LIMIT is reached). One static statement of FEW branches, the k-th over
        -- the k-th division (past the last, NULL: no rows), planned once (see the docstring).
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        SELECT coalesce(array_agg(n.id), '{}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT u.id, upper(u.title::text) LIKE pattern AS hit FROM (
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[1]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[2]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[3]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[4]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[5]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[6]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[7]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[8]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[9]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[10]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)) u
                  ORDER BY u.created_at DESC, u.id DESC
                  LIMIT 300) n
              WHERE n.hit
              LIMIT wanted) n;
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 OR cardinality(searched) <= 3 THEN
            -- Read on until `wanted` matches (the CASE hides the pattern, as in 0007), the
            -- same merge planned once.
            PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
            RETURN QUERY
            SELECT u.id FROM (
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[1]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[2]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[3]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[4]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[5]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[6]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[7]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[8]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[9]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[10]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)) u
            ORDER BY u.created_at DESC, u.id DESC
            LIMIT wanted;
            RETURN;
        END IF;
    ELSE
        -- 0007's first pass: the newest WALK visible jobs of the tenant.
        SELECT coalesce(array_agg(w.id), '{}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT j.id, upper(j.title::text) LIKE pattern AS hit
                  FROM public.jobs_job j
                  WHERE j.tenant_id = acting.tenant_id
                    AND (acting.tenant_admin OR j.division_id = ANY (visible))
                    AND (j.created_at, j.id) < (newest_created, newest_id)
                    AND (only_status IS NULL OR j.status = only_status)
                  ORDER BY j.created_at DESC, j.id DESC
                  LIMIT 300) n
              WHERE n.hit
              LIMIT wanted) w;
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 THEN
            -- A common word: the tenant newest first (see 0007 for the CASE).
            RETURN QUERY
            SELECT j.id FROM public.jobs_job j
            WHERE j.tenant_id = acting.tenant_id
              AND (acting.tenant_admin OR j.division_id = ANY (visible))
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            ORDER BY j.created_at DESC, j.id DESC
            LIMIT wanted;
            RETURN;
        END IF;
    END IF;
    -- A rare word: the trigram index (jobs.0002), materialised as in 0007.
    RETURN QUERY
    WITH matches AS MATERIALIZED (
        SELECT j.id, j.created_at FROM public.jobs_job j
        WHERE upper(j.title::text) LIKE pattern
          AND j.tenant_id = acting.tenant_id
          AND (searched IS NULL OR j.division_id + 0 = ANY (searched))
          AND (acting.tenant_admin OR j.division_id + 0 = ANY (visible))
          AND (j.created_at, j.id) < (newest_created, newest_id)
          AND (only_status IS NULL OR j.status = only_status)
    )
    SELECT m.id FROM matches m
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT wanted;
END
$function$;

CREATE OR REPLACE FUNCTION public.proone_principal_kind()
 RETURNS text
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ BEGIN RETURN (proone_rls.verified_principal())[1]; END $function$;

CREATE OR REPLACE FUNCTION proone_rls.sign(message text)
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(message, 'UTF8'))), 'hex')
    FROM proone_rls.signing_key k WHERE k.id = 1
$function$;
REVOKE ALL ON FUNCTION proone_rls.sign(message text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION proone_rls.transaction_binding()
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ SELECT pg_backend_pid()::text || ':' || extract(epoch FROM now())::text $function$;
REVOKE ALL ON FUNCTION proone_rls.transaction_binding() FROM PUBLIC;

CREATE OR REPLACE FUNCTION proone_rls.well_formed(kind text, id text)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT CASE kind
        WHEN 'u' THEN id ~ '^[1-9][0-9]{0,17}$'
        WHEN 's' THEN id = '0'
        WHEN 'n' THEN id ~ '^([0-9a-f]{2})+$' AND length(id) <= 1200
        ELSE false
    END
$function$;
REVOKE ALL ON FUNCTION proone_rls.well_formed(kind text, id text) FROM PUBLIC;

-- auth_group
ALTER TABLE auth_group ENABLE ROW LEVEL SECURITY;

-- auth_group_permissions
ALTER TABLE auth_group_permissions ENABLE ROW LEVEL SECURITY;

-- divisions_datascope
ALTER TABLE divisions_datascope ENABLE ROW LEVEL SECURITY;

-- divisions_datascopechange
ALTER TABLE divisions_datascopechange ENABLE ROW LEVEL SECURITY;

-- divisions_datascopedivision
ALTER TABLE divisions_datascopedivision ENABLE ROW LEVEL SECURITY;

-- divisions_division
ALTER TABLE divisions_division ENABLE ROW LEVEL SECURITY;

-- divisions_tenant
ALTER TABLE divisions_tenant ENABLE ROW LEVEL SECURITY;

-- divisions_user
ALTER TABLE divisions_user ENABLE ROW LEVEL SECURITY;

-- divisions_user_groups
ALTER TABLE divisions_user_groups ENABLE ROW LEVEL SECURITY;

-- divisions_user_user_permissions
ALTER TABLE divisions_user_user_permissions ENABLE ROW LEVEL SECURITY;

-- django_admin_log
ALTER TABLE django_admin_log ENABLE ROW LEVEL SECURITY;

-- django_session
ALTER TABLE django_session ENABLE ROW LEVEL SECURITY;

-- guardian_groupobjectpermission
ALTER TABLE guardian_groupobjectpermission ENABLE ROW LEVEL SECURITY;

-- guardian_userobjectpermission
ALTER TABLE guardian_userobjectpermission ENABLE ROW LEVEL SECURITY;

-- jobs_job
ALTER TABLE jobs_job ENABLE ROW LEVEL SECURITY;

-- jobs_jobnote
ALTER TABLE jobs_jobnote ENABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascope FORCE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopechange FORCE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopedivision FORCE ROW LEVEL SECURITY;

ALTER TABLE divisions_division FORCE ROW LEVEL SECURITY;

ALTER TABLE jobs_job FORCE ROW LEVEL SECURITY;

ALTER TABLE jobs_jobnote FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON auth_group
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON auth_group
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON auth_group
    FOR SELECT
    USING (true);

CREATE POLICY proone_update ON auth_group
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_delete ON auth_group_permissions
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON auth_group_permissions
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON auth_group_permissions
    FOR SELECT
    USING (true);

CREATE POLICY proone_update ON auth_group_permissions
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_delete ON divisions_datascope
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_insert ON divisions_datascope
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_owner_reads ON divisions_datascope
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_read ON divisions_datascope
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_datascope
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_delete ON divisions_datascopechange
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_insert ON divisions_datascopechange
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_read ON divisions_datascopechange
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_datascopechange
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_delete ON divisions_datascopedivision
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_insert ON divisions_datascopedivision
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_owner_reads ON divisions_datascopedivision
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_read ON divisions_datascopedivision
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_datascopedivision
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (datascope_id = ANY ((SELECT proone_managed_scopes())::bigint[]))
            )
        )
    );

CREATE POLICY proone_delete ON divisions_division
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    );

CREATE POLICY proone_insert ON divisions_division
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    );

CREATE POLICY proone_owner_reads ON divisions_division
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_read ON divisions_division
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (tenant_id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_division
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
        )
    );

CREATE POLICY proone_delete ON divisions_tenant
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON divisions_tenant
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON divisions_tenant
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (id = (SELECT proone_acting_tenant()))
    );

CREATE POLICY proone_update ON divisions_tenant
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_delete ON divisions_user
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    );

CREATE POLICY proone_insert ON divisions_user
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    );

CREATE POLICY proone_read ON divisions_user
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (id = (SELECT proone_principal()))
        OR ((username)::text = (SELECT proone_login_name()))
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (SELECT proone_acting_tenant_admin())
                OR (cardinality((SELECT proone_managed_scopes())) > 0)
            )
        )
    );

CREATE POLICY proone_update ON divisions_user
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (SELECT proone_acting_tenant_admin())
            AND (NOT is_superuser)
        )
    );

CREATE POLICY proone_update_self ON divisions_user
    FOR UPDATE
    USING (id = (SELECT proone_principal()))
    WITH CHECK (
        (id = (SELECT proone_principal()))
        AND (proone_user_guard(tenant_id, division_id, is_active, is_staff, is_superuser, is_tenant_admin) = (SELECT proone_stored_user_guard()))
    );

CREATE POLICY proone_delete ON divisions_user_groups
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    );

CREATE POLICY proone_insert ON divisions_user_groups
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    );

CREATE POLICY proone_read ON divisions_user_groups
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_update ON divisions_user_groups
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (group_id = ( SELECT g.id FROM auth_group g WHERE ((g.name)::text = 'Tenant admins'::text)))
        )
    );

CREATE POLICY proone_delete ON divisions_user_user_permissions
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON divisions_user_user_permissions
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON divisions_user_user_permissions
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_update ON divisions_user_user_permissions
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_delete ON django_admin_log
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON django_admin_log
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
    );

CREATE POLICY proone_read ON django_admin_log
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (
                (user_id = (SELECT proone_principal()))
                OR (SELECT proone_acting_tenant_admin())
            )
        )
    );

CREATE POLICY proone_update ON django_admin_log
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_delete ON guardian_groupobjectpermission
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_insert ON guardian_groupobjectpermission
    FOR INSERT
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_read ON guardian_groupobjectpermission
    FOR SELECT
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_update ON guardian_groupobjectpermission
    FOR UPDATE
    USING ((SELECT proone_acting_system()))
    WITH CHECK ((SELECT proone_acting_system()));

CREATE POLICY proone_delete ON guardian_userobjectpermission
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    );

CREATE POLICY proone_insert ON guardian_userobjectpermission
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    );

CREATE POLICY proone_read ON guardian_userobjectpermission
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (user_id = (SELECT proone_principal()))
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_update ON guardian_userobjectpermission
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
            AND (content_type_id = ( SELECT ct.id FROM django_content_type ct WHERE (((ct.app_label)::text = 'divisions'::text) AND ((ct.model)::text = 'datascope'::text))))
            AND (EXISTS ( SELECT 1 FROM divisions_datascope s WHERE ((s.id)::text = (guardian_userobjectpermission.object_pk)::text)))
        )
    );

CREATE POLICY proone_owner_search ON jobs_job
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_scope ON jobs_job
    USING (
        (SELECT proone_acting_system())
        OR (division_id = ANY ((SELECT proone_visible_divisions())::bigint[]))
        OR (tenant_id = (SELECT proone_admin_tenant()))
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (division_id = ANY ((SELECT proone_visible_divisions())::bigint[]))
        OR (tenant_id = (SELECT proone_admin_tenant()))
    );

CREATE POLICY proone_delete ON jobs_jobnote
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
    );

CREATE POLICY proone_insert ON jobs_jobnote
    FOR INSERT
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
            AND (author_id = (SELECT proone_principal()))
            AND ((author_name)::text = (( SELECT u.username FROM divisions_user u WHERE (u.id = (SELECT proone_principal()))))::text)
        )
    );

CREATE POLICY proone_read ON jobs_jobnote
    FOR SELECT
    USING (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
    );

CREATE POLICY proone_update ON jobs_jobnote
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
            AND (author_id = (SELECT proone_principal()))
            AND ((author_name)::text = (( SELECT u.username FROM divisions_user u WHERE (u.id = (SELECT proone_principal()))))::text)
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
            AND (author_id = (SELECT proone_principal()))
            AND ((author_name)::text = (( SELECT u.username FROM divisions_user u WHERE (u.id = (SELECT proone_principal()))))::text)
        )
    );

CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_datascope
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();

CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_datascopedivision
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();

CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_division
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();

CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_user
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();

CREATE TRIGGER proone_admin_log_stamp BEFORE INSERT ON django_admin_log
    FOR EACH ROW EXECUTE FUNCTION proone_rls.admin_log_stamp();
"""

REVERSE = r"""
DROP TRIGGER proone_admin_log_stamp ON django_admin_log;

DROP TRIGGER proone_forget_visible ON divisions_user;

DROP TRIGGER proone_forget_visible ON divisions_division;

DROP TRIGGER proone_forget_visible ON divisions_datascopedivision;

DROP TRIGGER proone_forget_visible ON divisions_datascope;

DROP POLICY proone_update ON jobs_jobnote;

DROP POLICY proone_read ON jobs_jobnote;

DROP POLICY proone_insert ON jobs_jobnote;

DROP POLICY proone_delete ON jobs_jobnote;

DROP POLICY proone_scope ON jobs_job;

DROP POLICY proone_owner_search ON jobs_job;

DROP POLICY proone_update ON guardian_userobjectpermission;

DROP POLICY proone_read ON guardian_userobjectpermission;

DROP POLICY proone_insert ON guardian_userobjectpermission;

DROP POLICY proone_delete ON guardian_userobjectpermission;

DROP POLICY proone_update ON guardian_groupobjectpermission;

DROP POLICY proone_read ON guardian_groupobjectpermission;

DROP POLICY proone_insert ON guardian_groupobjectpermission;

DROP POLICY proone_delete ON guardian_groupobjectpermission;

DROP POLICY proone_update ON django_admin_log;

DROP POLICY proone_read ON django_admin_log;

DROP POLICY proone_insert ON django_admin_log;

DROP POLICY proone_delete ON django_admin_log;

DROP POLICY proone_update ON divisions_user_user_permissions;

DROP POLICY proone_read ON divisions_user_user_permissions;

DROP POLICY proone_insert ON divisions_user_user_permissions;

DROP POLICY proone_delete ON divisions_user_user_permissions;

DROP POLICY proone_update ON divisions_user_groups;

DROP POLICY proone_read ON divisions_user_groups;

DROP POLICY proone_insert ON divisions_user_groups;

DROP POLICY proone_delete ON divisions_user_groups;

DROP POLICY proone_update_self ON divisions_user;

DROP POLICY proone_update ON divisions_user;

DROP POLICY proone_read ON divisions_user;

DROP POLICY proone_insert ON divisions_user;

DROP POLICY proone_delete ON divisions_user;

DROP POLICY proone_update ON divisions_tenant;

DROP POLICY proone_read ON divisions_tenant;

DROP POLICY proone_insert ON divisions_tenant;

DROP POLICY proone_delete ON divisions_tenant;

DROP POLICY proone_update ON divisions_division;

DROP POLICY proone_read ON divisions_division;

DROP POLICY proone_owner_reads ON divisions_division;

DROP POLICY proone_insert ON divisions_division;

DROP POLICY proone_delete ON divisions_division;

DROP POLICY proone_update ON divisions_datascopedivision;

DROP POLICY proone_read ON divisions_datascopedivision;

DROP POLICY proone_owner_reads ON divisions_datascopedivision;

DROP POLICY proone_insert ON divisions_datascopedivision;

DROP POLICY proone_delete ON divisions_datascopedivision;

DROP POLICY proone_update ON divisions_datascopechange;

DROP POLICY proone_read ON divisions_datascopechange;

DROP POLICY proone_insert ON divisions_datascopechange;

DROP POLICY proone_delete ON divisions_datascopechange;

DROP POLICY proone_update ON divisions_datascope;

DROP POLICY proone_read ON divisions_datascope;

DROP POLICY proone_owner_reads ON divisions_datascope;

DROP POLICY proone_insert ON divisions_datascope;

DROP POLICY proone_delete ON divisions_datascope;

DROP POLICY proone_update ON auth_group_permissions;

DROP POLICY proone_read ON auth_group_permissions;

DROP POLICY proone_insert ON auth_group_permissions;

DROP POLICY proone_delete ON auth_group_permissions;

DROP POLICY proone_update ON auth_group;

DROP POLICY proone_read ON auth_group;

DROP POLICY proone_insert ON auth_group;

DROP POLICY proone_delete ON auth_group;

ALTER TABLE jobs_jobnote NO FORCE ROW LEVEL SECURITY;

ALTER TABLE jobs_job NO FORCE ROW LEVEL SECURITY;

ALTER TABLE divisions_division NO FORCE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopedivision NO FORCE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopechange NO FORCE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascope NO FORCE ROW LEVEL SECURITY;

ALTER TABLE jobs_jobnote DISABLE ROW LEVEL SECURITY;

ALTER TABLE jobs_job DISABLE ROW LEVEL SECURITY;

ALTER TABLE guardian_userobjectpermission DISABLE ROW LEVEL SECURITY;

ALTER TABLE guardian_groupobjectpermission DISABLE ROW LEVEL SECURITY;

ALTER TABLE django_session DISABLE ROW LEVEL SECURITY;

ALTER TABLE django_admin_log DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_user_user_permissions DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_user_groups DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_user DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_tenant DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_division DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopedivision DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopechange DISABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascope DISABLE ROW LEVEL SECURITY;

ALTER TABLE auth_group_permissions DISABLE ROW LEVEL SECURITY;

ALTER TABLE auth_group DISABLE ROW LEVEL SECURITY;

DROP FUNCTION proone_rls.well_formed(kind text, id text);

DROP FUNCTION proone_rls.transaction_binding();

DROP FUNCTION proone_rls.sign(message text);

DROP FUNCTION public.proone_principal_kind();

DROP FUNCTION public.proone_title_search(term text, only_status text, only_division bigint, wanted integer, before_created timestamp with time zone, before_id bigint);

DROP FUNCTION public.proone_title_matches(term text, only_status text, only_division bigint, wanted integer, before_created timestamp with time zone, before_id bigint);

DROP FUNCTION public.proone_session_clear_expired();

DROP FUNCTION public.proone_session_delete(session_key text);

DROP FUNCTION public.proone_session_save(session_key text, session_data text, expire_date timestamp with time zone, must_create boolean);

DROP FUNCTION public.proone_session_exists(session_key text);

DROP FUNCTION public.proone_session_load(session_key text);

DROP FUNCTION proone_rls.session_id(session_key text);

DROP FUNCTION proone_rls.admin_log_stamp();

DROP FUNCTION public.proone_stored_user_guard();

DROP FUNCTION public.proone_user_guard(tenant_id bigint, division_id bigint, is_active boolean, is_staff boolean, is_superuser boolean, is_tenant_admin boolean);

DROP FUNCTION public.proone_tenant_users();

DROP FUNCTION public.proone_managed_scopes();

DROP FUNCTION proone_rls.forget_visible();

DROP FUNCTION proone_rls.visible_seal(listed text, proof text);

DROP FUNCTION public.proone_visible_divisions();

DROP FUNCTION public.proone_admin_tenant();

DROP FUNCTION public.proone_acting_tenant_admin();

DROP FUNCTION public.proone_acting_tenant();

DROP FUNCTION public.proone_login_name();

DROP FUNCTION public.proone_acting_system();

DROP FUNCTION public.proone_principal();

DROP FUNCTION public.proone_enter(token text);

DROP FUNCTION proone_rls.acting_user(OUT tenant_id bigint, OUT division_id bigint, OUT tenant_admin boolean);

DROP FUNCTION proone_rls.verified_principal();

DROP TABLE proone_rls.signing_key;

DROP SCHEMA proone_rls;
"""


def signing_key(apps, schema_editor):
    """Store the key derived from settings; `create_db_roles` refreshes it after a change."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            store_signing_key(cursor)


class Migration(migrations.Migration):
    replaces = [
        ("divisions", "0006_jobnote_row_level_security"),
        ("divisions", "0007_title_search"),
        ("divisions", "0008_title_search_by_division"),
        ("divisions", "0009_title_search_trigram_first"),
        ("divisions", "0010_visible_divisions_kept"),
        ("divisions", "0011_proof_checked_where_it_grants"),
        ("divisions", "0012_admin_log_row_level_security"),
        ("divisions", "0013_job_policy_asks_the_list_first"),
        ("divisions", "0014_title_matches_for_a_count"),
        ("divisions", "0015_title_search_merge_planned_once"),
    ]

    dependencies = [
        ("divisions", "0003_squashed_0005_same_tenant_keys"),
        ("jobs", "0003_squashed_0006_notes"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("guardian", "0001_initial"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        PostgresSQL(KEYS, UNDO_KEYS),
        PostgresSQL(FORWARD, REVERSE),
        migrations.RunPython(signing_key, migrations.RunPython.noop),
    ]
