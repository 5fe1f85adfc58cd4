"""
PostgreSQL only: title search among a few divisions merges them in one statement planned once.

Measured at a million jobs (benchmarks/notes.md, "Title search among a few divisions merges
them in one statement planned once"; docs/benchmarks.md's notes): among a member's few
divisions (at most FEW, or the one the list is filtered by) `proone_title_search()` built a
statement of one newest-first branch per division, naming the division ids, and ran it with
EXECUTE, which plans it again on every call. For a scope list's eight divisions planning took
about 1 ms of the function's 1.9 for the first page of a common word; running it took 0.4.

Here the same merge is one static statement of FEW branches, the k-th reading
`searched[k]` (a branch past the member's divisions compares with NULL and reads nothing),
planned generically: once per session and connection, with the same plan for every member
(a Merge Append of the covering division index's newest-first scans, which stops at the
LIMIT). The function keeps `plan_cache_mode = force_custom_plan` for its other statements,
whose plans depend on the word and the principal, and asks for the generic plan around these
two only. The answers are 0009's: the same ids for every principal, word, filter and page;
the function builds no statement any more. The reverse restores 0009's definition word for
word.
"""

import importlib

from django.db import migrations

_0007 = importlib.import_module("divisions.migrations.0007_title_search")
_0008 = importlib.import_module("divisions.migrations.0008_title_search_by_division")
_0009 = importlib.import_module("divisions.migrations.0009_title_search_trigram_first")
PostgresSQL = _0009.PostgresSQL


def _replaced(text, old, new):
    """`text` with its one `old` replaced by `new`; LookupError when `old` is not there once."""
    if text.count(old) != 1:
        raise LookupError(f"0009's title search is not as 0015 expects it: {old[:60]!r}")
    return text.replace(old, new)


def _from(text, start, end):
    """The part of `text` from its one `start` up to (not including) the next `end`."""
    _replaced(text, start, start)
    at = text.index(start)
    return text[at : text.index(end, at)]


def _merged(column, condition, limit):
    """FEW newest-first branches, the k-th over the k-th searched division, as a UNION ALL."""
    branch = (
        "(SELECT j.id, j.created_at{column} FROM public.jobs_job j\n"
        "                   WHERE j.division_id = searched[{k}]\n"
        "                     AND j.tenant_id = acting.tenant_id\n"
        "                     AND (j.created_at, j.id) < (newest_created, newest_id)\n"
        "                     AND (only_status IS NULL OR j.status = only_status){condition}\n"
        "                   ORDER BY j.created_at DESC, j.id DESC LIMIT {limit})"
    )
    return "\n                  UNION ALL\n                  ".join(
        branch.format(column=column, k=k, condition=condition, limit=limit)
        for k in range(1, _0008.FEW + 1)
    )


# The statements below are built from this module's constants (fragments and integers) only:
# no value reaches their text, hence the noqa.
GENERIC = "PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);"
CUSTOM = "PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);"
# 0008's merge among a few divisions: the statement built, then its first WALK.
BUILT = _from(
    _0009.SEARCH,
    "        -- One newest-first scan per division, merged:",
    "        IF cardinality(found) >= wanted THEN",
)
FIRST = f"""\
        -- The first matches among the newest WALK jobs of those divisions: one newest-first
        -- scan per division, merged (a UNION ALL of ordered, limited branches is what
        -- PostgreSQL reads as a Merge Append of the covering division index, which stops
        -- once the LIMIT is reached). One static statement of FEW branches, the k-th over
        -- the k-th division (past the last, NULL: no rows), planned once (see the docstring).
        {GENERIC}
        SELECT coalesce(array_agg(n.id), '{{}}') INTO found
        FROM (SELECT n.id FROM (
                  SELECT u.id, upper(u.title::text) LIKE pattern AS hit FROM (
                  {_merged(", j.title", "", _0007.WALK)}) u
                  ORDER BY u.created_at DESC, u.id DESC
                  LIMIT {_0007.WALK}) n
              WHERE n.hit
              LIMIT wanted) n;
        {CUSTOM}
"""  # noqa: S608
READ_ON = _from(
    _0009.SEARCH,
    "            -- Read on until `wanted` matches (the CASE hides the pattern, as in 0007).",
    "            RETURN;\n        END IF;\n    ELSE",
)
MATCHING = (
    "\n                     AND CASE WHEN upper(j.title::text) LIKE pattern "
    "THEN true ELSE false END"
)
READ_ON_MERGED = f"""\
            -- Read on until `wanted` matches (the CASE hides the pattern, as in 0007), the
            -- same merge planned once.
            {GENERIC}
            RETURN QUERY
            SELECT u.id FROM (
                  {_merged("", MATCHING, "wanted")}) u
            ORDER BY u.created_at DESC, u.id DESC
            LIMIT wanted;
"""  # noqa: S608

SEARCH = _0009.SEARCH
# The merge has FEW branches: `searched` must never hold more (0008 reads division by division
# only up to FEW visible divisions, else one division filtered by).
_replaced(
    SEARCH, f"cardinality(visible) <= {_0008.FEW} THEN", f"cardinality(visible) <= {_0008.FEW} THEN"
)
for old, new in (
    ("    newest_of_each text;\n", ""),
    (BUILT, FIRST),
    (READ_ON, READ_ON_MERGED),
):
    SEARCH = _replaced(SEARCH, old, new)
if "EXECUTE" in SEARCH or "newest_of_each" in SEARCH:
    raise LookupError("0015's title search still builds 0008's statement")


class Migration(migrations.Migration):
    dependencies = [
        ("divisions", "0014_title_matches_for_a_count"),
    ]

    operations = [PostgresSQL(SEARCH, _0009.SEARCH)]
