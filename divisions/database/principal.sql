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

-- Retired keys, still accepted while the fleet restarts onto the current key (the rotation of
-- docs/operations.md): a token signed under one enters, and a proof made under one before it
-- was retired still verifies. `manage.py create_db_roles` stores RLS_SIGNING_KEY_FALLBACKS
-- here and removes the rest. Owner only, like the current key.
CREATE TABLE proone_rls.retired_signing_key (
    id integer PRIMARY KEY CHECK (id >= 1),
    inner_pad bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea NOT NULL CHECK (length(outer_pad) = 64)
);

-- The verified (kind, id) of this transaction's proof, or NULL for nobody; a proof that was
-- forged or copied from another transaction is an error. Owner only. The HMAC and the
-- transaction binding (backend pid, transaction start) are written inline so the function's
-- plan is kept. proone_enter() signs proofs with the current key, so that one is checked
-- first; the retired keys only for a proof made before a rotation stored the current one.
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
    message bytea;
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
        message := convert_to(
            parts[1] || ':' || parts[2] || ':' || pg_backend_pid()::text || ':'
                || extract(epoch FROM now())::text,
            'UTF8');
        SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || message)), 'hex')
        INTO expected
        FROM proone_rls.signing_key k WHERE k.id = 1;
        IF parts[3] = expected THEN
            RETURN ARRAY[parts[1], parts[2]];
        END IF;
        IF EXISTS (SELECT FROM proone_rls.retired_signing_key r
                   WHERE encode(sha256(r.outer_pad || sha256(r.inner_pad || message)), 'hex')
                       = parts[3]) THEN
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
-- Refuses a malformed token, one signed under neither the current key nor a retired one, one
-- older than ten seconds or dated more than two seconds ahead, then stores a proof bound to
-- this transaction, signed with the current key, for the functions below. The current key is
-- read once and both HMACs (the token's and the proof's) computed inline; the retired keys
-- are read only for a token the current key did not sign (a process not yet restarted).
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
    signed boolean;
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
    signed := parts[4] = encode(sha256(outer_pad || sha256(inner_pad || convert_to(
        principal || ':' || parts[3], 'UTF8'))), 'hex');
    IF NOT signed THEN
        signed := EXISTS (SELECT FROM proone_rls.retired_signing_key r
                          WHERE encode(sha256(r.outer_pad || sha256(r.inner_pad || convert_to(
                              principal || ':' || parts[3], 'UTF8'))), 'hex') = parts[4]);
    END IF;
    IF NOT signed THEN
        RAISE EXCEPTION 'principal token signature is invalid'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The keys stored in the database differ from RLS_SIGNING_KEY: '
                         'run manage.py create_db_roles (see docs/operations.md).';
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
    -- On a Citus cluster (citus.sql) the workers of this transaction get the principal too.
    IF to_regprocedure('proone_rls.citus_enter()') IS NOT NULL THEN
        PERFORM proone_rls.citus_enter();
    END IF;
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
