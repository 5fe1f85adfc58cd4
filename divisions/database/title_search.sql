-- The title search: a member's matching jobs found per visible division in creation order,
-- merged, so a common word reads a page's worth of each division instead of every match.

CREATE OR REPLACE FUNCTION public.proone_title_matches(term text, only_status text, only_division bigint, wanted integer, before_created timestamp with time zone, before_id bigint)
 RETURNS SETOF bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 30
 SET plan_cache_mode TO 'force_custom_plan'
 SET max_parallel_workers_per_gather TO '0'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
    visible bigint[];
    searched bigint[];
    pattern text;
    newest_created timestamptz := coalesce(before_created, 'infinity');
    newest_id bigint := coalesce(before_id, 9223372036854775807);
    found bigint[];
BEGIN
    IF acting.tenant_id IS NULL OR term IS NULL OR wanted IS NULL OR wanted < 1 THEN
        RETURN;
    END IF;
    wanted := least(wanted, 10000);
    IF NOT acting.tenant_admin THEN
        visible := public.proone_visible_divisions();
    END IF;
    pattern := '%' || upper(replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_'))
               || '%';
    -- The divisions to read one by one: the filter's (if visible) or the member's own.
    IF only_division IS NOT NULL THEN
        searched := CASE WHEN acting.tenant_admin OR only_division = ANY (visible)
                         THEN ARRAY[only_division] ELSE '{}' END;
    ELSIF NOT acting.tenant_admin AND cardinality(visible) <= 10 THEN
        searched := visible;
    END IF;
    IF searched IS NOT NULL THEN
        IF cardinality(searched) = 0 THEN
            RETURN;
        END IF;
        -- A sample of each division's jobs (300 in all, by the division index, in no
        -- order): the word's density among them decides.
        SELECT coalesce(array_agg(p.id) FILTER (WHERE p.hit), '{}') INTO found
        FROM unnest(searched) AS s(division_id)
        CROSS JOIN LATERAL (
            SELECT j.id, upper(j.title::text) LIKE pattern AS hit
            FROM public.jobs_job j
            WHERE j.division_id = s.division_id AND j.tenant_id = acting.tenant_id
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
            LIMIT 300 / cardinality(searched) + 1) p;
        found := found[1:wanted];
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 OR cardinality(searched) <= 3 THEN
            -- Read on in no order until `wanted` matches: the division index, division
            -- after division. The CASE hides the pattern from the planner (no trigram
            -- search, an estimate of one row in two), so it reads on and stops early.
            RETURN QUERY
            SELECT j.id FROM public.jobs_job j
            WHERE j.division_id = ANY (searched) AND j.tenant_id = acting.tenant_id
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            LIMIT wanted;
            RETURN;
        END IF;
    ELSE
        -- A first pass: the newest 300 visible jobs of the tenant.
        SELECT coalesce(array_agg(w.id), '{}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT j.id, upper(j.title::text) LIKE pattern AS hit
                  FROM public.jobs_job j
                  WHERE j.tenant_id = acting.tenant_id
                    AND (acting.tenant_admin OR j.division_id = ANY (visible))
                    AND (j.created_at, j.id) < (newest_created, newest_id)
                    AND (only_status IS NULL OR j.status = only_status)
                  ORDER BY j.created_at DESC, j.id DESC
                  LIMIT 300) n
              WHERE n.hit
              LIMIT wanted) w;
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 THEN
            -- A common word: the tenant, in no order; the CASE hides the pattern from
            -- the planner, so it reads on and stops early.
            RETURN QUERY
            SELECT j.id FROM public.jobs_job j
            WHERE j.tenant_id = acting.tenant_id
              AND (acting.tenant_admin OR j.division_id = ANY (visible))
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            LIMIT wanted;
            RETURN;
        END IF;
    END IF;
    -- A rare word: the trigram index (job_title_trigrams) finds its few jobs. Materialised,
    -- so that no LIMIT tempts the planner into walking the whole tenant newest first.
    RETURN QUERY
    WITH matches AS MATERIALIZED (
        SELECT j.id, j.created_at FROM public.jobs_job j
        WHERE upper(j.title::text) LIKE pattern
          AND j.tenant_id = acting.tenant_id
          AND (searched IS NULL OR j.division_id + 0 = ANY (searched))
          AND (acting.tenant_admin OR j.division_id + 0 = ANY (visible))
          AND (j.created_at, j.id) < (newest_created, newest_id)
          AND (only_status IS NULL OR j.status = only_status)
    )
    SELECT m.id FROM matches m
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT wanted;
END
$function$;

CREATE OR REPLACE FUNCTION public.proone_title_search(term text, only_status text, only_division bigint, wanted integer, before_created timestamp with time zone, before_id bigint)
 RETURNS SETOF bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER ROWS 30
 SET plan_cache_mode TO 'force_custom_plan'
 SET max_parallel_workers_per_gather TO '0'
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    acting record := proone_rls.acting_user();
    visible bigint[];
    searched bigint[];
    pattern text;
    newest_created timestamptz := coalesce(before_created, 'infinity');
    newest_id bigint := coalesce(before_id, 9223372036854775807);
    found bigint[];
BEGIN
    IF acting.tenant_id IS NULL OR term IS NULL OR wanted IS NULL OR wanted < 1 THEN
        RETURN;
    END IF;
    wanted := least(wanted, 10000);
    IF NOT acting.tenant_admin THEN
        visible := public.proone_visible_divisions();
    END IF;
    pattern := '%' || upper(replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_'))
               || '%';
    -- The divisions to read one by one: the filter's (if visible) or the member's own.
    IF only_division IS NOT NULL THEN
        searched := CASE WHEN acting.tenant_admin OR only_division = ANY (visible)
                         THEN ARRAY[only_division] ELSE '{}' END;
    ELSIF NOT acting.tenant_admin AND cardinality(visible) <= 10 THEN
        searched := visible;
    END IF;
    IF searched IS NOT NULL THEN
        IF cardinality(searched) = 0 THEN
            RETURN;
        END IF;
        -- The first matches among the newest 300 jobs of those divisions: one newest-first
        -- scan per division, merged (a UNION ALL of ordered, limited branches is what
        -- PostgreSQL reads as a Merge Append of the covering division index, which stops
        -- once the LIMIT is reached). One static statement of 10 branches, the k-th over
        -- the k-th division (past the last, NULL: no rows), planned once per session (a
        -- statement built and run with EXECUTE would be planned again at every call).
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        SELECT coalesce(array_agg(n.id), '{}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT u.id, upper(u.title::text) LIKE pattern AS hit FROM (
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[1]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[2]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[3]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[4]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[5]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[6]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[7]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[8]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[9]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)
                  UNION ALL
                  (SELECT j.id, j.created_at, j.title FROM public.jobs_job j
                   WHERE j.division_id = searched[10]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                   ORDER BY j.created_at DESC, j.id DESC LIMIT 300)) u
                  ORDER BY u.created_at DESC, u.id DESC
                  LIMIT 300) n
              WHERE n.hit
              LIMIT wanted) n;
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 OR cardinality(searched) <= 3 THEN
            -- Read on until `wanted` matches (the CASE hides the pattern from the planner),
            -- the same merge planned once.
            PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
            RETURN QUERY
            SELECT u.id FROM (
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[1]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[2]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[3]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[4]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[5]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[6]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[7]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[8]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[9]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)
                  UNION ALL
                  (SELECT j.id, j.created_at FROM public.jobs_job j
                   WHERE j.division_id = searched[10]
                     AND j.tenant_id = acting.tenant_id
                     AND (j.created_at, j.id) < (newest_created, newest_id)
                     AND (only_status IS NULL OR j.status = only_status)
                     AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
                   ORDER BY j.created_at DESC, j.id DESC LIMIT wanted)) u
            ORDER BY u.created_at DESC, u.id DESC
            LIMIT wanted;
            RETURN;
        END IF;
    ELSE
        -- A first pass: the newest 300 visible jobs of the tenant.
        SELECT coalesce(array_agg(w.id), '{}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT j.id, upper(j.title::text) LIKE pattern AS hit
                  FROM public.jobs_job j
                  WHERE j.tenant_id = acting.tenant_id
                    AND (acting.tenant_admin OR j.division_id = ANY (visible))
                    AND (j.created_at, j.id) < (newest_created, newest_id)
                    AND (only_status IS NULL OR j.status = only_status)
                  ORDER BY j.created_at DESC, j.id DESC
                  LIMIT 300) n
              WHERE n.hit
              LIMIT wanted) w;
        IF cardinality(found) >= wanted THEN
            RETURN QUERY SELECT unnest(found);
            RETURN;
        END IF;
        IF cardinality(found) >= 3 THEN
            -- A common word: the tenant newest first; the CASE hides the pattern from the
            -- planner, so it walks the newest-first index and stops early.
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
    -- A rare word: the trigram index (job_title_trigrams) finds its few jobs. Materialised,
    -- so that no LIMIT tempts the planner into walking the whole tenant newest first.
    RETURN QUERY
    WITH matches AS MATERIALIZED (
        SELECT j.id, j.created_at FROM public.jobs_job j
        WHERE upper(j.title::text) LIKE pattern
          AND j.tenant_id = acting.tenant_id
          AND (searched IS NULL OR j.division_id + 0 = ANY (searched))
          AND (acting.tenant_admin OR j.division_id + 0 = ANY (visible))
          AND (j.created_at, j.id) < (newest_created, newest_id)
          AND (only_status IS NULL OR j.status = only_status)
    )
    SELECT m.id FROM matches m
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT wanted;
END
$function$;
