-- django-axes' login history (sign-in attempts and lockouts, sign-ins and sign-outs, failures)
-- belongs to the username each row names: the sign-in look-up of that username reads and
-- writes it, a tenant admin reads its tenant's users' rows and deletes their attempts (an
-- unlock), system work reads and writes every row. Policies: policies.sql.

-- The usernames of the tenant the acting user administers (an active staff tenant admin),
-- superusers excepted as in the admin's user list; empty for anyone else.
CREATE OR REPLACE FUNCTION public.proone_admin_usernames()
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
BEGIN
    IF NOT acting.tenant_admin THEN
        RETURN '{}';
    END IF;
    RETURN (SELECT coalesce(array_agg(u.username::text), '{}') FROM public.divisions_user u
            WHERE u.tenant_id = acting.tenant_id AND NOT u.is_superuser);
END
$function$;
