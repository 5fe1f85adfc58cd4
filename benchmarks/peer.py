"""
The peer row of `make bench`: the same rule with an unsigned, transaction-local principal.

django-rls-tenants and most RLS guides set the principal with `SET LOCAL` and trust it. Here
a copy of the job table (schema `bench_peer`, in the throwaway benchmark database only) gets
the same read policy as jobs_job's proone_read and the same PL/pgSQL rule functions as
divisions/database/, reading the user id from `set_config('bench_peer.user_id', ..., true)`
with no signature (so it works the visible divisions out in every statement: nothing is kept
without a seal). Each transaction runs the principal, the floor's first page and capped count
(the policy alone decides), as the app role, against the signed principal on the real table:
what the signature costs.
"""

from benchmarks.measure import summary, timed

SETUP = r"""
CREATE SCHEMA bench_peer;
CREATE TABLE bench_peer.jobs_job (LIKE public.jobs_job INCLUDING ALL);
INSERT INTO bench_peer.jobs_job SELECT * FROM public.jobs_job;

CREATE FUNCTION bench_peer.acting_user(
    OUT tenant_id bigint, OUT division_id bigint, OUT tenant_admin boolean
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raw text := current_setting('bench_peer.user_id', true);
BEGIN
    tenant_admin := false;
    IF raw IS NULL OR raw = '' THEN
        RETURN;
    END IF;
    SELECT u.tenant_id, u.division_id, u.is_tenant_admin AND u.is_staff
    INTO tenant_id, division_id, tenant_admin
    FROM public.divisions_user u
    WHERE u.id = raw::bigint AND u.is_active AND u.tenant_id IS NOT NULL;
    tenant_admin := coalesce(tenant_admin, false);
END
$$;

CREATE FUNCTION bench_peer.acting_system() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN coalesce(current_setting('bench_peer.system', true) = 'on', false); END $$;

CREATE FUNCTION bench_peer.admin_tenant() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acting record := bench_peer.acting_user();
BEGIN
    IF acting.tenant_admin THEN
        RETURN acting.tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION bench_peer.visible_divisions() RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acting record := bench_peer.acting_user();
BEGIN
    IF acting.tenant_id IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN (
        SELECT coalesce(array_agg(d.id), '{}')
        FROM public.divisions_division d
        JOIN public.divisions_datascope s ON s.id = d.data_scope_id
        WHERE d.tenant_id = acting.tenant_id
          AND (d.id = acting.division_id
               OR s.is_everyone
               OR s.id = ANY (ARRAY(SELECT m.datascope_id
                                    FROM public.divisions_datascopedivision m
                                    WHERE m.division_id = acting.division_id)))
    );
END
$$;

ALTER TABLE bench_peer.jobs_job ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench_peer.jobs_job FORCE ROW LEVEL SECURITY;
CREATE POLICY peer_scope ON bench_peer.jobs_job USING (
    (SELECT bench_peer.acting_system())
    OR division_id = ANY ((SELECT bench_peer.visible_divisions())::bigint[])
    OR tenant_id = (SELECT bench_peer.admin_tenant())
);
GRANT USAGE ON SCHEMA bench_peer TO {app};
GRANT SELECT ON bench_peer.jobs_job TO {app};
ANALYZE bench_peer.jobs_job;
"""


def create(superuser_url, app_role):
    """The peer table and functions, as the superuser (or owner), in one transaction."""
    import psycopg
    from psycopg import sql

    from divisions import rls

    with psycopg.connect(superuser_url) as connection:
        role = sql.Identifier(app_role).as_string(connection)
        # System work, so an owner (under the job table's forced policy) copies every row too.
        connection.execute("SELECT proone_enter(%s)", [rls.principal_token(rls.SYSTEM, 0)])
        connection.execute(SETUP.replace("{app}", role))


def page_sql(user):
    """The floor's first page and capped count (tenant filter only): the policy decides.

    Only the job table has a peer copy, so the statements read no other table under
    row-level security (the ORM filter's division subquery would, as nobody).
    """
    from django.db.models import QuerySet

    from jobs.models import Job

    jobs = QuerySet(Job).filter(tenant_id=user.tenant_id)
    page = jobs.order_by("-created_at", "-pk")[:26].query.sql_with_params()
    inner, params = jobs.order_by().values("pk")[:1001].query.sql_with_params()
    return [page, (f"SELECT count(*) FROM ({inner}) capped", params)]  # noqa: S608 - ORM SQL


def rows(users, app_url, repeat):
    """(shape, signed median, signed p95, peer median, peer p95) per measured user."""
    import psycopg

    from divisions import rls

    out = []
    with psycopg.connect(app_url) as connection:
        for shape, user in users:
            statements = page_sql(user)

            def run(principal, arguments, connection=connection, statements=statements):
                results = []
                with connection.cursor() as cursor:
                    cursor.execute(principal, arguments(), prepare=False)
                    for query, params in statements:
                        cursor.execute(query, params, prepare=False)
                        results.append(cursor.fetchall())
                connection.commit()
                return results

            def signed(user=user):
                return run(
                    "SELECT proone_enter(%s)", lambda: [rls.principal_token(rls.USER, user.pk)]
                )

            def peer(user=user):
                return run(
                    "SELECT set_config('bench_peer.user_id', %s, true), "
                    "set_config('search_path', 'bench_peer, public', true)",
                    lambda: [str(user.pk)],
                )

            if signed() != peer():
                raise RuntimeError(f"the peer table answers differently for {user.username}")
            signed_samples, peer_samples = timed([signed, peer], repeat)
            out.append((shape, *summary(signed_samples), *summary(peer_samples)))
    return out
