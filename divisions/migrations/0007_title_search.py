"""
PostgreSQL only: title search that keeps its index under row-level security.

Under row-level security PostgreSQL lets a non-LEAKPROOF operator neither use an index ahead
of the policy nor see the column's statistics, and `LIKE` is not LEAKPROOF: the list's
`title__icontains` was estimated at one row, so a common word was found by reading every
visible job and sorting them (docs/benchmarks.md, "Title search"), and a rare word by reading
the whole tenant. Marking `LIKE` LEAKPROOF needs a superuser.

`proone_title_search(term, only_status, only_division, wanted, before_created, before_id)`
finds the first `wanted` jobs whose title contains `term` (any case), of that status and
division when given, newest first, older than the (created_at, id) key, that the verified
principal may see: the list page's filters. It runs as the table owner (SECURITY DEFINER), who here
gets a SELECT policy of its own on jobs_job: the owner can already turn row-level security
off, so the policy grants it nothing new, and inside the function the search has its indexes
(the trigram index of jobs.0002 for a rare word). The function applies the rule itself from
the verified principal (proone_rls.acting_user() and proone_visible_divisions(): the same
definitions the policies use) and returns ids only. The ORM keeps its own filter and the
policy still applies to the query that reads the rows (jobs/managers.py), so both layers stay
independent: the function can only narrow what they return.

How it searches, since it has no statistics for `LIKE` either: it reads the newest visible
jobs, at most WALK of them, until it has `wanted` matches. If it has not, and at least COMMON
of them matched (a common word), it walks on newest first, as the unscoped list does;
otherwise (a rare word) it asks the trigram index.
"""

import importlib

from django.db import migrations

PostgresSQL = importlib.import_module("divisions.migrations.0003_row_level_security").PostgresSQL

# The newest visible jobs read before choosing between walking on and the trigram index, and
# the matches among them from which walking on is the cheaper way (1% of jobs: about 100 jobs
# read per match, where the trigram index reads the matches of every tenant).
WALK = 300
COMMON = 3
MAX_WANTED = 10_000

SEARCH = rf"""
-- The table owner (the migration role) reads every job; nothing else changes for it, since
-- it can already disable row-level security on its table.
DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY proone_owner_search ON public.jobs_job FOR SELECT TO %I USING (true)',
        (SELECT r.rolname FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
         WHERE c.oid = 'public.jobs_job'::regclass));
END
$$;

CREATE FUNCTION public.proone_title_search(
    term text, only_status text, only_division bigint,
    wanted integer, before_created timestamptz, before_id bigint
) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
-- Plans made for this call's values: admin or member, first page or a later one.
SET plan_cache_mode = force_custom_plan
SET search_path = pg_catalog, pg_temp
ROWS 30
AS $$
DECLARE
    acting record := proone_rls.acting_user();
    visible bigint[];
    pattern text;
    newest_created timestamptz := coalesce(before_created, 'infinity');
    newest_id bigint := coalesce(before_id, 9223372036854775807);
    found bigint[];
BEGIN
    IF acting.tenant_id IS NULL OR term IS NULL OR wanted IS NULL OR wanted < 1 THEN
        RETURN;
    END IF;
    wanted := least(wanted, {MAX_WANTED});
    IF NOT acting.tenant_admin THEN
        visible := public.proone_visible_divisions();
    END IF;
    -- Django's icontains: UPPER(title) LIKE UPPER('%term%'), with \, % and _ escaped.
    pattern := '%' || upper(replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_'))
               || '%';
    -- The first matches among the newest WALK visible jobs (it stops at `wanted` of them).
    SELECT coalesce(array_agg(w.id), '{{}}') INTO found
    FROM (SELECT n.id FROM (
              SELECT j.id, upper(j.title::text) LIKE pattern AS hit
              FROM public.jobs_job j
              WHERE j.tenant_id = acting.tenant_id
                AND (acting.tenant_admin OR j.division_id = ANY (visible))
                AND (j.created_at, j.id) < (newest_created, newest_id)
                AND (only_status IS NULL OR j.status = only_status)
                AND (only_division IS NULL OR j.division_id = only_division)
              ORDER BY j.created_at DESC, j.id DESC
              LIMIT {WALK}) n
          WHERE n.hit
          LIMIT wanted) w;
    IF cardinality(found) >= wanted THEN
        RETURN QUERY SELECT unnest(found);
        RETURN;
    END IF;
    IF cardinality(found) >= {COMMON} THEN
        -- A common word: newest first until `wanted` matches. The CASE hides the pattern
        -- from the planner (no index search, and an estimate of one row in two), so it walks
        -- the newest-first index and stops early, as the unscoped list does.
        RETURN QUERY
        SELECT j.id FROM public.jobs_job j
        WHERE j.tenant_id = acting.tenant_id
          AND (acting.tenant_admin OR j.division_id = ANY (visible))
          AND (j.created_at, j.id) < (newest_created, newest_id)
          AND (only_status IS NULL OR j.status = only_status)
          AND (only_division IS NULL OR j.division_id = only_division)
          AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
        ORDER BY j.created_at DESC, j.id DESC
        LIMIT wanted;
        RETURN;
    END IF;
    -- A rare word: the trigram index (jobs.0002) finds its few jobs. Materialised, so that no
    -- LIMIT tempts the planner into walking the whole tenant newest first instead.
    RETURN QUERY
    WITH matches AS MATERIALIZED (
        SELECT j.id, j.created_at FROM public.jobs_job j
        WHERE upper(j.title::text) LIKE pattern
          AND j.tenant_id = acting.tenant_id
          AND (acting.tenant_admin OR j.division_id = ANY (visible))
          AND (j.created_at, j.id) < (newest_created, newest_id)
          AND (only_status IS NULL OR j.status = only_status)
          AND (only_division IS NULL OR j.division_id = only_division)
    )
    SELECT m.id FROM matches m
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT wanted;
END
$$;

-- Owned by the table owner, whose policy above it relies on.
DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION public.proone_title_search(text, text, bigint, integer, timestamptz, bigint) '
        'OWNER TO %I',
        (SELECT r.rolname FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
         WHERE c.oid = 'public.jobs_job'::regclass));
END
$$;
"""

UNDO_SEARCH = """
DROP FUNCTION public.proone_title_search(text, text, bigint, integer, timestamptz, bigint);
DROP POLICY proone_owner_search ON public.jobs_job;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0006_jobnote_row_level_security"),
        ("jobs", "0002_title_search_index"),
    ]

    operations = [PostgresSQL(SEARCH, UNDO_SEARCH)]
