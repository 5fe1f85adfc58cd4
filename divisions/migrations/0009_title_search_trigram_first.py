"""
PostgreSQL only: a rare word among a member's divisions is still found by the trigram index.

jobs migration 0005 gave `job_division_covering` the title: reading a division's titles from
that index alone became cheap enough, in the planner's costs, that it read all 26,666 jobs of
a scope-list member's eight divisions for `#12345` (5.6 ms) where the trigram index finds the
word's eleven jobs in any tenant (1.0 ms). Only the rare-word statement changes: its division
tests are written `division_id + 0`, which no index answers, so the trigram index decides and
the divisions filter what it finds, as before 0005. Everything else is 0008's function; the
reverse restores it word for word.
"""

import importlib

from django.db import migrations

_0008 = importlib.import_module("divisions.migrations.0008_title_search_by_division")
PostgresSQL = _0008.PostgresSQL

RARE_WORD_DIVISIONS = """\
          AND (searched IS NULL OR j.division_id = ANY (searched))
          AND (acting.tenant_admin OR j.division_id = ANY (visible))
"""
# `+ 0`: no index's condition, so the trigram index (jobs 0002) is what finds the rows.
TRIGRAM_FIRST = """\
          AND (searched IS NULL OR j.division_id + 0 = ANY (searched))
          AND (acting.tenant_admin OR j.division_id + 0 = ANY (visible))
"""
if _0008.SEARCH.count(RARE_WORD_DIVISIONS) != 1:
    raise LookupError("0008's rare-word statement is not where 0009 expects it")
SEARCH = _0008.SEARCH.replace(RARE_WORD_DIVISIONS, TRIGRAM_FIRST)


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0008_title_search_by_division"),
        ("jobs", "0005_division_covering_index"),
    ]

    operations = [PostgresSQL(SEARCH, _0008.SEARCH)]
