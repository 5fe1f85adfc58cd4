"""
PostgreSQL only: the policies' functions check the principal's proof where an answer grants rows.

Measured at a million jobs (docs/benchmarks.md): the policies that let system work read
everything start with `(SELECT proone_acting_system())`, called once for each such table a
statement reads, and it checked the proof (an HMAC under the signing key, read from its
table) only to answer "no" for every user: 11 µs a call, as much as the functions whose
answers do grant rows. The first `proone_visible_divisions()` of a transaction read the
divisions, scopes and scope lists under their own forced policies, six more such calls in its
0.3 ms.

Here:

- `proone_acting_system()` answers false, and `proone_login_name()` NULL, for a principal that
  does not claim system work or a sign-in look-up, without reading its proof: those answers
  grant nothing. A claim of either is checked as before. Every answer that grants rows (the
  user's id, tenant, tenant admin, visible divisions) still checks the proof, so a forged or
  replayed principal is refused by any statement that could read a row with it; a statement
  reading only tables that system work alone may read returns no rows for it.
- Each table's owner reads the divisions, scopes and scope lists (`proone_owner_reads`, FOR
  SELECT TO the owner), as 0007 let it read jobs. The owner's functions that read them (the
  visible divisions, the managed scopes) filter by the verified principal's tenant
  themselves, and the owner could already switch row-level security off on its own tables.
  A migration (which runs as the owner) reads every tenant's rows of them without a
  principal, and still writes them only under the write policies. The app role's policies
  do not change.

The reverse restores 0005's functions word for word and drops the owner's policies.
"""

import importlib
import re

from django.db import migrations

_0005 = importlib.import_module("divisions.migrations.0005_cheaper_principal")
PostgresSQL = _0005.PostgresSQL

# The tables proone_visible_divisions() reads under their forced policies, besides the user's
# own row (divisions_user is not forced: its owner reads it whole already).
OWNER_READS = ["divisions_division", "divisions_datascope", "divisions_datascopedivision"]

FUNCTIONS = r"""
-- System work is a kind of principal, never a user id. Only a claim of it needs its proof
-- checked: "no" grants nothing.
CREATE OR REPLACE FUNCTION public.proone_acting_system() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF left(current_setting('proone.principal', true), 2) IS DISTINCT FROM 's:' THEN
        RETURN false;
    END IF;
    RETURN coalesce((proone_rls.verified_principal())[1] = 's', false);
END
$$;

-- The username a sign-in look-up may read, NULL for any other principal (without its proof:
-- NULL grants nothing).
CREATE OR REPLACE FUNCTION public.proone_login_name() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    principal text[];
BEGIN
    IF left(current_setting('proone.principal', true), 2) IS DISTINCT FROM 'n:' THEN
        RETURN NULL;
    END IF;
    principal := proone_rls.verified_principal();
    IF principal[1] = 'n' THEN
        RETURN convert_from(decode(principal[2], 'hex'), 'UTF8');
    END IF;
    RETURN NULL;
END
$$;
"""

# Each table's owner reads it whole (see the docstring).
OWNER_POLICIES = """
DO $$
DECLARE
    listed regclass;
BEGIN
    FOREACH listed IN ARRAY ARRAY[TABLES]::regclass[] LOOP
        EXECUTE format('CREATE POLICY proone_owner_reads ON %s FOR SELECT TO %I USING (true)',
                       listed,
                       (SELECT r.rolname FROM pg_catalog.pg_class c
                        JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                        WHERE c.oid = listed));
    END LOOP;
END
$$;
""".replace("TABLES", ", ".join(f"'public.{table}'" for table in OWNER_READS))


def _0005_definition(name):
    """0005's CREATE statement of function `name`, as CREATE OR REPLACE."""
    found = re.search(
        r"CREATE (?:OR REPLACE )?FUNCTION " + re.escape(name) + r"\(.*?AS \$\$.*?\$\$;",
        _0005.FUNCTIONS,
        re.DOTALL,
    )
    return re.sub(r"^CREATE (OR REPLACE )?", "CREATE OR REPLACE ", found.group(0)) + "\n"


FORWARDS = FUNCTIONS + OWNER_POLICIES
BACKWARDS = "".join(
    f"DROP POLICY proone_owner_reads ON public.{table};\n" for table in OWNER_READS
) + "".join(
    _0005_definition(name)
    for name in ("public.proone_acting_system", "public.proone_login_name")
)


class Migration(migrations.Migration):
    dependencies = [
        ("divisions", "0010_visible_divisions_kept"),
    ]

    operations = [PostgresSQL(FORWARDS, BACKWARDS)]
