"""
PostgreSQL only: a count of title matches reads them in no order.

Measured at a million jobs (docs/benchmarks.md, "Title search"): the list's total for a
search is a capped count (jobs/pagination.py), and the ORM narrowed it, as the first page, to
the ids `proone_title_search()` returns: the newest 1,001 matches. A count does not need the
newest. For a member who sees a few divisions the function planned two statements of one
newest-first branch per division, merged, to find them (for a scope list's common word
5.3 ms, where reading the same divisions in no order takes 3.0).

Here `proone_title_matches()` answers a count: the same signature, rule (the verified
principal's tenant and visible divisions, or the division filtered by), owner, pinned
search_path and ways of reading as 0009's `proone_title_search()`, and at most `wanted` of
the same matches, in no order. Of those ways:

- Among a few divisions, the word's density is judged from a sample of each division's jobs
  (WALK in all, read by the division index, no order, one statement planned once) rather
  than the newest WALK; a common word is then read on by `division_id = ANY (...)` in no
  order, which stops once `wanted` matches are found, where the newest first merged the
  divisions' scans.
- Walking the tenant (more divisions, or a tenant admin), a common word is read on in no
  order: the walk stops at `wanted` matches without keeping the newest.
- A rare word is the trigram index's, as before.

`proone_title_search()` is unchanged: a page still gets the newest matches. Code that runs
before this migration counts through `proone_title_search()` (divisions.rls.title_search_ready).
The reverse drops the function.
"""

import importlib

from django.db import migrations

_0007 = importlib.import_module("divisions.migrations.0007_title_search")
_0009 = importlib.import_module("divisions.migrations.0009_title_search_trigram_first")
PostgresSQL = _0009.PostgresSQL

SIGNATURE = "text, text, bigint, integer, timestamptz, bigint"


def _replaced(text, old, new):
    """`text` with its one `old` replaced by `new`; LookupError when `old` is not there once."""
    if text.count(old) != 1:
        raise LookupError(f"0009's title search is not as 0014 expects it: {old[:60]!r}")
    return text.replace(old, new)


def _between(text, start, end):
    """The part of `text` from its one `start` up to (not including) the next `end`."""
    _replaced(text, start, start)
    at = text.index(start)
    return text[at : text.index(end, at)]


# 0009's newest-first merge among a few divisions (0008's): built, then its first WALK.
MERGED = _between(
    _0009.SEARCH,
    "        -- One newest-first scan per division, merged:",
    "        IF cardinality(found) >= wanted THEN",
)
SAMPLED = f"""\
        -- A sample of each division's jobs (WALK in all, by the division index, in no
        -- order): the word's density among them decides, as the newest WALK did.
        SELECT coalesce(array_agg(p.id) FILTER (WHERE p.hit), '{{}}') INTO found
        FROM unnest(searched) AS s(division_id)
        CROSS JOIN LATERAL (
            SELECT j.id, upper(j.title::text) LIKE pattern AS hit
            FROM public.jobs_job j
            WHERE j.division_id = s.division_id AND j.tenant_id = acting.tenant_id
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
            LIMIT {_0007.WALK} / cardinality(searched) + 1) p;
        found := found[1:wanted];
"""
READ_ON_MERGED = _between(
    _0009.SEARCH,
    "            -- Read on until `wanted` matches (the CASE hides the pattern, as in 0007).",
    "            RETURN;\n        END IF;\n    ELSE",
)
READ_ON_DIVISIONS = """\
            -- Read on in no order until `wanted` matches (the CASE hides the pattern, as
            -- in 0007): the division index, division after division.
            RETURN QUERY
            SELECT j.id FROM public.jobs_job j
            WHERE j.division_id = ANY (searched) AND j.tenant_id = acting.tenant_id
              AND (j.created_at, j.id) < (newest_created, newest_id)
              AND (only_status IS NULL OR j.status = only_status)
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            LIMIT wanted;
"""
TENANT_IN_ORDER = """\
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            ORDER BY j.created_at DESC, j.id DESC
            LIMIT wanted;
"""
TENANT_IN_NO_ORDER = """\
              AND CASE WHEN upper(j.title::text) LIKE pattern THEN true ELSE false END
            LIMIT wanted;
"""

MATCHES = _0009.SEARCH
for old, new in (
    (
        "CREATE OR REPLACE FUNCTION public.proone_title_search(",
        "CREATE FUNCTION public.proone_title_matches(",
    ),
    ("    newest_of_each text;\n", ""),
    ("-- A parallel plan reads every branch whole; the merge reads only the newest.\n", ""),
    (MERGED, SAMPLED),
    (READ_ON_MERGED, READ_ON_DIVISIONS),
    ("-- A common word: the tenant newest first", "-- A common word: the tenant, in no order"),
    (TENANT_IN_ORDER, TENANT_IN_NO_ORDER),
):
    MATCHES = _replaced(MATCHES, old, new)
if "newest_of_each" in MATCHES:
    raise LookupError("0014's title matches still build 0008's merge")

FORWARDS = f"""
-- At most `wanted` of the jobs proone_title_search() would find, in no order: a count's.
{MATCHES}
-- Owned by the table owner, whose policy (0007's proone_owner_search) it reads jobs under.
DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION public.proone_title_matches({SIGNATURE}) OWNER TO %I',
        (SELECT r.rolname FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
         WHERE c.oid = 'public.jobs_job'::regclass));
END
$$;
"""
BACKWARDS = f"DROP FUNCTION public.proone_title_matches({SIGNATURE});\n"


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0013_job_policy_asks_the_list_first"),
    ]

    operations = [PostgresSQL(FORWARDS, BACKWARDS)]
