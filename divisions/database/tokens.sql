-- Personal access tokens (api_accesstoken): a user sees and revokes their own, a tenant admin
-- those of the tenant's users; the API resolves a token through proone_token_user() only.

-- The token's id and user id, when `token` is usable; no row otherwise.
CREATE OR REPLACE FUNCTION public.proone_token_user(token text)
 RETURNS TABLE(token_id bigint, user_id bigint)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
#variable_conflict use_column
DECLARE
    found_token bigint;
    found_user bigint;
BEGIN
    SELECT t.id, t.user_id INTO found_token, found_user
    FROM api_accesstoken t JOIN divisions_user u ON u.id = t.user_id
    WHERE t.digest = encode(sha256(convert_to(token, 'UTF8')), 'hex')
      AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > clock_timestamp())
      AND u.is_active;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- Concurrent requests with the same token skip the row rather than queue behind it.
    UPDATE api_accesstoken t SET last_used_at = clock_timestamp()
    WHERE t.id = (SELECT l.id FROM api_accesstoken l
                  WHERE l.id = found_token
                    AND (l.last_used_at IS NULL OR l.last_used_at < clock_timestamp() - interval '1 minute')
                  FOR UPDATE SKIP LOCKED);
    token_id := found_token;
    user_id := found_user;
    RETURN NEXT;
END
$function$;

CREATE OR REPLACE FUNCTION public.proone_token_guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id
       OR NEW.digest IS DISTINCT FROM OLD.digest
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
       OR (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at) THEN
        RAISE EXCEPTION 'an access token''s owner, hash, dates and revocation cannot change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$function$;

CREATE TRIGGER proone_token_guard BEFORE UPDATE ON api_accesstoken
    FOR EACH ROW EXECUTE FUNCTION proone_token_guard();

-- Row-level security on every table the rule or the principal touches: enabled everywhere,
-- forced on the tables the owner role itself must read only through the rule. The job read
-- policy is proone_read on jobs_job. Policies read the principal once per statement through
-- (SELECT f()), which PostgreSQL evaluates once as an init plan.

-- api_accesstoken
ALTER TABLE api_accesstoken ENABLE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON api_accesstoken
    FOR DELETE
    USING (
        (user_id = (SELECT proone_principal()))
        OR (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_insert ON api_accesstoken
    FOR INSERT
    WITH CHECK (
        (user_id = (SELECT proone_principal()))
        AND (revoked_at IS NULL)
        AND (last_used_at IS NULL)
    );

CREATE POLICY proone_read ON api_accesstoken
    FOR SELECT
    USING (
        (user_id = (SELECT proone_principal()))
        OR (SELECT proone_acting_system())
        OR (
            (SELECT proone_acting_tenant_admin())
            AND (user_id = ANY ((SELECT proone_tenant_users())::bigint[]))
        )
    );

CREATE POLICY proone_update ON api_accesstoken
    FOR UPDATE
    USING (user_id = (SELECT proone_principal()))
    WITH CHECK (user_id = (SELECT proone_principal()));
