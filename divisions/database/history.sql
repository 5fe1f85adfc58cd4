-- The history of every DataScope change (divisions.DataScopeEvent), recorded by the database
-- itself whoever writes and however: a trigger on the scope and on its list of divisions adds
-- one row per division added or removed and per switch of "everyone", naming the verified
-- principal's user (NULL for system work). The app role reads a tenant's history as a tenant
-- admin of it or as the manager of that scope; it inserts and changes nothing (no policy lets
-- it), and deletes only as system work (a tenant deleted with its rows). Only the trigger
-- functions, running as the owner, insert; a tenant's deletion removes its history.

-- One event of `scope`, by the acting user.
CREATE OR REPLACE FUNCTION proone_rls.record_scope_event(tenant_id bigint, scope_id bigint, what text, division_id bigint)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    actor_id bigint := public.proone_principal();
BEGIN
    INSERT INTO public.divisions_datascopeevent
        (tenant_id, datascope_id, what, division_id, division_name, actor_id, actor_name,
         recorded_at)
    VALUES (
        $1, $2, $3, $4,
        coalesce((SELECT d.name FROM public.divisions_division d WHERE d.id = $4), ''),
        actor_id,
        coalesce((SELECT u.username FROM public.divisions_user u WHERE u.id = actor_id), ''),
        clock_timestamp()
    );
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.record_scope_event(tenant_id bigint, scope_id bigint, what text, division_id bigint) FROM PUBLIC;

-- "Everyone" switched on (a scope born with it, too) or off.
CREATE OR REPLACE FUNCTION proone_rls.record_scope_everyone()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.is_everyone THEN
        PERFORM proone_rls.record_scope_event(NEW.tenant_id, NEW.id, 'everyone_on', NULL);
    ELSIF TG_OP = 'UPDATE' AND NEW.is_everyone IS DISTINCT FROM OLD.is_everyone THEN
        PERFORM proone_rls.record_scope_event(
            NEW.tenant_id, NEW.id,
            CASE WHEN NEW.is_everyone THEN 'everyone_on' ELSE 'everyone_off' END, NULL);
    END IF;
    RETURN NULL;
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.record_scope_everyone() FROM PUBLIC;

-- A division added to a scope's list or removed from it (an update is both).
CREATE OR REPLACE FUNCTION proone_rls.record_scope_division()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.datascope_id = OLD.datascope_id
            AND NEW.division_id = OLD.division_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM proone_rls.record_scope_event(
            OLD.tenant_id, OLD.datascope_id, 'removed', OLD.division_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM proone_rls.record_scope_event(
            NEW.tenant_id, NEW.datascope_id, 'added', NEW.division_id);
    END IF;
    RETURN NULL;
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.record_scope_division() FROM PUBLIC;

-- A tenant deleted takes its history along, the events its deletion's cascade recorded too.
CREATE OR REPLACE FUNCTION proone_rls.forget_scope_history()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    DELETE FROM public.divisions_datascopeevent e WHERE e.tenant_id = OLD.id;
    RETURN NULL;
END
$function$;
REVOKE ALL ON FUNCTION proone_rls.forget_scope_history() FROM PUBLIC;

CREATE TRIGGER proone_forget_scope_history AFTER DELETE ON divisions_tenant
    FOR EACH ROW EXECUTE FUNCTION proone_rls.forget_scope_history();

CREATE TRIGGER proone_record_scope_everyone AFTER INSERT OR UPDATE ON divisions_datascope
    FOR EACH ROW EXECUTE FUNCTION proone_rls.record_scope_everyone();

CREATE TRIGGER proone_record_scope_division AFTER INSERT OR DELETE OR UPDATE ON divisions_datascopedivision
    FOR EACH ROW EXECUTE FUNCTION proone_rls.record_scope_division();

-- divisions_datascopeevent
ALTER TABLE divisions_datascopeevent ENABLE ROW LEVEL SECURITY;

ALTER TABLE divisions_datascopeevent FORCE ROW LEVEL SECURITY;

CREATE POLICY proone_delete ON divisions_datascopeevent
    FOR DELETE
    USING ((SELECT proone_acting_system()));

CREATE POLICY proone_owner_forgets ON divisions_datascopeevent
    FOR DELETE
    TO CURRENT_USER
    USING (true);

CREATE POLICY proone_owner_records ON divisions_datascopeevent
    FOR INSERT
    TO CURRENT_USER
    WITH CHECK (true);

CREATE POLICY proone_read ON divisions_datascopeevent
    FOR SELECT
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
