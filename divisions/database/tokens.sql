-- Personal access tokens (api_accesstoken): a user sees and revokes their own, a tenant admin
-- those of the tenant's users; the API resolves a token through proone_token_user() only.

-- The token's id and user id, when `token` is usable; no row otherwise. With a `rate_window`,
-- the request is also counted in the token's window (api_ratewindow): a window opens at the
-- first request after the last one closed, and `hits` is the requests counted in it, this one
-- included; `window_left` the seconds until it closes. One atomic upsert, whose row lock
-- lasts only as long as this statement's transaction (the API calls it before the request's
-- transaction opens), so every worker counts in the same row without a read-then-write race.
CREATE OR REPLACE FUNCTION public.proone_token_user(token text, rate_window interval)
 RETURNS TABLE(token_id bigint, user_id bigint, hits integer, window_left double precision)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
#variable_conflict use_column
DECLARE
    found_token bigint;
    found_user bigint;
    counted integer;
    opened timestamptz;
    at timestamptz := clock_timestamp();
BEGIN
    SELECT t.id, t.user_id INTO found_token, found_user
    FROM api_accesstoken t JOIN divisions_user u ON u.id = t.user_id
    WHERE t.digest = encode(sha256(convert_to(token, 'UTF8')), 'hex')
      AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > at)
      AND u.is_active;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- Concurrent requests with the same token skip the row rather than queue behind it. The
    -- lock is the one the update takes (NO KEY UPDATE): a stronger one would block the foreign
    -- key check of another request's first window (KEY SHARE), whose row this one then waits
    -- for, a deadlock.
    UPDATE api_accesstoken t SET last_used_at = at
    WHERE t.id = (SELECT l.id FROM api_accesstoken l
                  WHERE l.id = found_token
                    AND (l.last_used_at IS NULL OR l.last_used_at < at - interval '1 minute')
                  FOR NO KEY UPDATE SKIP LOCKED);
    IF rate_window IS NOT NULL THEN
        INSERT INTO api_ratewindow AS w (token_id, opened_at, hits)
        VALUES (found_token, at, 1)
        ON CONFLICT (token_id) DO UPDATE
        SET opened_at = CASE WHEN w.opened_at <= at - rate_window THEN at ELSE w.opened_at END,
            hits = CASE WHEN w.opened_at <= at - rate_window THEN 1 ELSE w.hits + 1 END
        RETURNING w.hits, w.opened_at INTO counted, opened;
        hits := counted;
        window_left := extract(epoch FROM opened + rate_window - at);
    END IF;
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

-- api_ratewindow: counted only by proone_token_user() (the owner, whose policies these are:
-- row-level security is forced on it), seen and deleted by the app role as the window's token
-- is (deleting a user or a token deletes its window), never inserted or changed by it.
ALTER TABLE api_ratewindow ENABLE ROW LEVEL SECURITY;

ALTER TABLE api_ratewindow FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON api_ratewindow
    FOR DELETE
    USING (EXISTS (SELECT 1 FROM api_accesstoken t WHERE t.id = api_ratewindow.token_id));

CREATE POLICY proone_insert ON api_ratewindow
    FOR INSERT
    WITH CHECK (false);

CREATE POLICY proone_owner_counts ON api_ratewindow
    FOR INSERT
    TO CURRENT_USER
    WITH CHECK (true);

CREATE POLICY proone_owner_reads ON api_ratewindow
    FOR SELECT
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_owner_recounts ON api_ratewindow
    FOR UPDATE
    TO CURRENT_USER
    USING (true)
    WITH CHECK (true);

CREATE POLICY proone_read ON api_ratewindow
    FOR SELECT
    USING (EXISTS (SELECT 1 FROM api_accesstoken t WHERE t.id = api_ratewindow.token_id));

CREATE POLICY proone_update ON api_ratewindow
    FOR UPDATE
    USING (false)
    WITH CHECK (false);
