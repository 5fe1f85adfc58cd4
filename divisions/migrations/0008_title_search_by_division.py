"""
PostgreSQL only: title search reads a member's own divisions when they are few.

Measured at a million jobs (docs/benchmarks.md, "Title search"): 0007's search walked the
tenant newest first for a common word and asked the tenant-wide trigram index for a rare
one. For a member who sees a handful of 100 divisions most of what either read belonged to
other divisions: p95 3.4x the unscoped floor (common word) and 2.6x (rare word) for a
one-division member, 4.5x for a scope list's common word.

Here, when the divisions to search are at most FEW (a member's visible divisions, or the one
division the list is filtered by, for a tenant admin too), the function reads those divisions
only: one newest-first scan of `job_division_newest` per division, merged (a UNION ALL of
ordered branches, which PostgreSQL runs as a Merge Append that stops at the LIMIT). The first
WALK jobs decide, as in 0007, between reading on that way (a common word, or at most FEW_WALK
divisions) and the trigram index restricted to those divisions (a rare word among more).
Everything else is 0007's function: same signature, owner, pinned search_path, rule (the
verified principal's tenant and visible divisions) and answers; the reverse restores 0007's
definition word for word.
"""

import importlib
import re

from django.db import migrations

_0007 = importlib.import_module("divisions.migrations.0007_title_search")
PostgresSQL = _0007.PostgresSQL

# At most this many divisions are read one by one: a member who sees more reads mostly
# visible jobs walking the tenant newest first, and each division is one more branch to plan.
FEW = 10
# Among at most this many divisions a rare word is read there too (their jobs are fewer
# than the trigram index's matches across every tenant).
FEW_WALK = 3

SEARCH = rf"""
CREATE OR REPLACE FUNCTION public.proone_title_search(
    term text, only_status text, only_division bigint,
    wanted integer, before_created timestamptz, before_id bigint
) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_custom_plan
-- A parallel plan reads every branch whole; the merge reads only the newest.
SET max_parallel_workers_per_gather = 0
SET search_path = pg_catalog, pg_temp
ROWS 30
AS $$
DECLARE
    acting record := proone_rls.acting_user();
    visible bigint[];
    searched bigint[];
    newest_of_each text;
    pattern text;
    newest_created timestamptz := coalesce(before_created, 'infinity');
    newest_id bigint := coalesce(before_id, 9223372036854775807);
    found bigint[];
BEGIN
    IF acting.tenant_id IS NULL OR term IS NULL OR wanted IS NULL OR wanted < 1 THEN
        RETURN;
    END IF;
    wanted := least(wanted, {_0007.MAX_WANTED});
    IF NOT acting.tenant_admin THEN
        visible := public.proone_visible_divisions();
    END IF;
    pattern := '%' || upper(replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_'))
               || '%';
    -- The divisions to read one by one: the filter's (if visible) or the member's own.
    IF only_division IS NOT NULL THEN
        searched := CASE WHEN acting.tenant_admin OR only_division = ANY (visible)
                         THEN ARRAY[only_division] ELSE '{{}}' END;
    ELSIF NOT acting.tenant_admin AND cardinality(visible) <= {FEW} THEN
        searched := visible;
    END IF;
    IF searched IS NOT NULL THEN
        IF cardinality(searched) = 0 THEN
            RETURN;
        END IF;
        -- One newest-first scan per division, merged: a UNION ALL of ordered, limited
        -- branches is what PostgreSQL reads as a Merge Append of the divisions' indexes
        -- (job_division_newest), which stops once the LIMIT is reached. (Without ORDER BY
        -- in each branch, or with `division_id = ANY (...)`, it reads every job of those
        -- divisions and sorts them.) The ids are integers from the verified rule; every
        -- value travels as a parameter. Each branch keeps three blanks for the statements
        -- below: %1$s an extra column, %2$s an extra condition, %3$s the branch's limit.
        newest_of_each := (
            SELECT string_agg(format(
                       '(SELECT j.id, j.created_at%2$s FROM public.jobs_job j '
                       'WHERE j.division_id = %1$s AND j.tenant_id = $1 '
                       'AND (j.created_at, j.id) < ($2, $3) '
                       'AND ($4::text IS NULL OR j.status = $4::text)%3$s '
                       'ORDER BY j.created_at DESC, j.id DESC LIMIT %4$s)',
                       s.division_id, '%1$s', '%2$s', '%3$s'),
                   ' UNION ALL ')
            FROM unnest(searched) AS s(division_id)
        );
        -- The first matches among the newest WALK jobs of those divisions.
        EXECUTE format(
            'SELECT coalesce(array_agg(n.id), ''{{}}'') FROM ('
            ' SELECT n.id FROM (SELECT u.id, u.hit FROM (%s) u'
            '  ORDER BY u.created_at DESC, u.id DESC LIMIT {_0007.WALK}) n'
            ' WHERE n.hit LIMIT $6) n',
            format(newest_of_each, ', upper(j.title::text) LIKE $5 AS hit', '', '{_0007.WALK}'))
        INTO found
        USING acting.tenant_id, newest_created, newest_id, only_status, pattern, wanted;
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= {_0007.COMMON} OR cardinality(searched) <= {FEW_WALK} THEN
            -- Read on until `wanted` matches (the CASE hides the pattern, as in 0007).
            RETURN QUERY EXECUTE format(
                'SELECT u.id FROM (%s) u ORDER BY u.created_at DESC, u.id DESC LIMIT $6',
                format(newest_of_each, '',
                       ' AND CASE WHEN upper(j.title::text) LIKE $5 THEN true ELSE false END',
                       '$6'))
            USING acting.tenant_id, newest_created, newest_id, only_status, pattern, wanted;
            RETURN;
        END IF;
    ELSE
        -- 0007's first pass: the newest WALK visible jobs of the tenant.
        SELECT coalesce(array_agg(w.id), '{{}}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT j.id, upper(j.title::text) LIKE pattern AS hit
                  FROM public.jobs_job j
                  WHERE j.tenant_id = acting.tenant_id
                    AND (acting.tenant_admin OR j.division_id = ANY (visible))
                    AND (j.created_at, j.id) < (newest_created, newest_id)
                    AND (only_status IS NULL OR j.status = only_status)
                  ORDER BY j.created_at DESC, j.id DESC
                  LIMIT {_0007.WALK}) n
              WHERE n.hit
              LIMIT wanted) w;
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= {_0007.COMMON} THEN
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
          AND (searched IS NULL OR j.division_id = ANY (searched))
          AND (acting.tenant_admin OR j.division_id = ANY (visible))
          AND (j.created_at, j.id) < (newest_created, newest_id)
          AND (only_status IS NULL OR j.status = only_status)
    )
    SELECT m.id FROM matches m
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT wanted;
END
$$;
"""

UNDO_SEARCH = re.search(
    r"CREATE FUNCTION public\.proone_title_search\(.*?AS \$\$.*?\$\$;", _0007.SEARCH, re.DOTALL
).group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0007_title_search"),
    ]

    operations = [PostgresSQL(SEARCH, UNDO_SEARCH)]
