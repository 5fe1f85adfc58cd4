"""
PostgreSQL only: the visible divisions are worked out once per transaction, kept sealed.

Measured at a million jobs (docs/benchmarks.md): `proone_visible_divisions()` is what a
member's statement on jobs pays most for. It verifies the principal, reads the acting user's
row, then joins the tenant's divisions and scopes under their own policies: about 0.2 ms per
call, in every statement on jobs_job and again for each policy that reads jobs_job (a detail
page's notes statement called it twice, 0.4 and 0.6 ms under EXPLAIN ANALYZE).

Here the first call in a transaction works the list out as before and keeps it in the
transaction-local setting `proone.visible`, sealed with an HMAC under the signing key over the
list, the proof of the principal it was worked out for (`proone.principal`) and the
transaction (backend pid and start). Later calls in the same transaction
return the kept list when the seal matches, and work it out again otherwise. The app role can
set `proone.visible` to anything but cannot seal it (the key is the owner's): a value it
writes, or one kept for another principal or in another transaction, does not match and is
ignored.

Any write to a table the list is read from (divisions, scopes, scope lists, users) forgets
the kept list for the rest of the transaction (a statement-level trigger), so the next
statement reads the change, as before. What other transactions commit meanwhile is read by
the next transaction (a request's list is the one it started with, as under REPEATABLE READ).
A kept list put back after such a write is one the same principal could already read earlier
in the same transaction: it shows nothing that principal could not see.

The reverse restores 0005's function word for word and drops the triggers.
"""

import importlib
import re

from django.db import migrations

_0005 = importlib.import_module("divisions.migrations.0005_cheaper_principal")
PostgresSQL = _0005.PostgresSQL

# The tables proone_visible_divisions() reads (with proone_rls.acting_user()).
READ_FROM = [
    "divisions_division",
    "divisions_datascope",
    "divisions_datascopedivision",
    "divisions_user",
]

KEPT = r"""
-- The HMAC sealing a kept list: over the list, the principal's proof and this transaction
-- (backend pid and start): a later call trusts the seal without verifying the proof again.
CREATE FUNCTION proone_rls.visible_seal(listed text, proof text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seal text;
BEGIN
    SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(
               'visible:' || listed || ':' || proof || ':' || pg_backend_pid()::text || ':'
                   || extract(epoch FROM now())::text,
               'UTF8'))), 'hex')
    INTO seal
    FROM proone_rls.signing_key k WHERE k.id = 1;
    RETURN seal;
END
$$;
REVOKE ALL ON FUNCTION proone_rls.visible_seal(text, text) FROM PUBLIC;

-- Rule 2, as 0005: divisions D of the user's tenant where D is the user's division, D's
-- scope is everyone, or the user's division is listed in D's scope. Kept for the
-- transaction under a seal (see the migration's docstring).
CREATE OR REPLACE FUNCTION public.proone_visible_divisions() RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    proof text := current_setting('proone.principal', true);
    kept text := current_setting('proone.visible', true);
    at integer;
    acting record;
    visible bigint[];
BEGIN
    -- A list kept earlier in this transaction for this proof: '{ids}' || '|' || seal.
    at := strpos(coalesce(kept, ''), '|');
    IF at > 0 AND coalesce(proof, '') <> ''
       AND substr(kept, at + 1) = proone_rls.visible_seal(substr(kept, 1, at - 1), proof) THEN
        RETURN substr(kept, 1, at - 1)::bigint[];
    END IF;
    acting := proone_rls.acting_user();
    IF acting.tenant_id IS NULL THEN
        RETURN '{}';
    END IF;
    visible := (
        SELECT coalesce(array_agg(d.id), '{}')
        FROM public.divisions_division d
        JOIN public.divisions_datascope s ON s.id = d.data_scope_id
        WHERE d.tenant_id = acting.tenant_id
          AND (d.id = acting.division_id
               OR s.is_everyone
               -- The scopes listing the user's division, read once by its index (an
               -- EXISTS here hashed every membership of every tenant).
               OR s.id = ANY (ARRAY(SELECT m.datascope_id
                                    FROM public.divisions_datascopedivision m
                                    WHERE m.division_id = acting.division_id)))
    );
    -- acting_user() verified the proof: seal the list for it and this transaction.
    PERFORM set_config(
        'proone.visible', visible::text || '|' || proone_rls.visible_seal(visible::text, proof),
        true
    );
    RETURN visible;
END
$$;

-- A write to a table the list is read from: the next call works the list out again.
CREATE FUNCTION proone_rls.forget_visible() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM set_config('proone.visible', '', true);
    RETURN NULL;
END
$$;
""" + "".join(
    f"CREATE TRIGGER proone_forget_visible AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    f"ON public.{table} FOR EACH STATEMENT EXECUTE FUNCTION proone_rls.forget_visible();\n"
    for table in READ_FROM
)

UNDO_KEPT = (
    "".join(f"DROP TRIGGER proone_forget_visible ON public.{table};\n" for table in READ_FROM)
    + "DROP FUNCTION proone_rls.forget_visible();\n"
    + re.search(
        r"CREATE OR REPLACE FUNCTION public\.proone_visible_divisions\(\).*?AS \$\$.*?\$\$;",
        _0005.FUNCTIONS,
        re.DOTALL,
    ).group(0)
    + "\nDROP FUNCTION proone_rls.visible_seal(text, text);\n"
)


class Migration(migrations.Migration):
    dependencies = [
        ("divisions", "0009_title_search_trigram_first"),
    ]

    operations = [PostgresSQL(KEPT, UNDO_KEPT)]
