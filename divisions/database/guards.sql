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

-- A member's status change keeps every other column of the job as stored when the statement
-- began (the UPDATE policy's column limit). It answers only for jobs of the acting user's own
-- division, which the user sees anyway: it is no way to probe other jobs' columns.
CREATE OR REPLACE FUNCTION public.proone_job_kept(job_id bigint, tenant_id bigint, division_id bigint, title text, description text, created_at timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM public.jobs_job j
        WHERE j.id = job_id AND j.division_id = acting.division_id
          AND j.tenant_id = proone_job_kept.tenant_id
          AND j.division_id = proone_job_kept.division_id
          AND j.title = proone_job_kept.title
          AND j.description = proone_job_kept.description
          AND j.created_at = proone_job_kept.created_at
    );
END
$function$;

-- A note is never edited: a tenant admin may only clear its author (when the author's user is
-- deleted), keeping every other column as stored when the statement began.
CREATE OR REPLACE FUNCTION public.proone_note_kept(note_id bigint, tenant_id bigint, job_id bigint, author_name text, body text, created_at timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
BEGIN
    RETURN acting.tenant_admin AND EXISTS (
        SELECT 1 FROM public.jobs_jobnote n
        WHERE n.id = note_id AND n.tenant_id = acting.tenant_id
          AND n.tenant_id = proone_note_kept.tenant_id
          AND n.job_id = proone_note_kept.job_id
          AND n.author_name = proone_note_kept.author_name
          AND n.body = proone_note_kept.body
          AND n.created_at = proone_note_kept.created_at
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

CREATE TRIGGER proone_admin_log_stamp BEFORE INSERT ON django_admin_log
    FOR EACH ROW EXECUTE FUNCTION proone_rls.admin_log_stamp();
