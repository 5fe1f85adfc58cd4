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

-- The acting user's division (NULL for none, system work, a sign-in look-up and nobody): its
-- members change the status of its jobs (SPEC "The write rule").
CREATE OR REPLACE FUNCTION public.proone_acting_division()
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$ BEGIN RETURN (proone_rls.acting_user()).division_id; END $function$;

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

CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_datascope
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();
CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_datascopedivision
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();
CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_division
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();
CREATE TRIGGER proone_forget_visible AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON divisions_user
    FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();
