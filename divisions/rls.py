"""
The principal that PostgreSQL's row-level security policies act for, one per transaction.

The app never tells the database "I am user 42" in a form SQL could repeat. It sends a token
signed with the RLS signing key (settings.RLS_SIGNING_KEY): `u:<user id>:<unix time>:<hmac>`
for a user, `s:0:<unix time>:<hmac>` for unscoped system work, `n:<hex username>:...` for
the one look-up of a user row by username at sign-in. The kind is explicit: no user id reads
as system, and user ids start at 1. A token lives TOKEN_LIFETIME seconds and may be dated at
most CLOCK_SKEW seconds ahead of the database's clock. The database function
`proone_enter(token)` (SECURITY DEFINER, the only reader of the key table) checks the
signature and the time, then stores with `set_config(..., true)` a proof bound to this
transaction (backend pid and transaction start time, signed again). The policies verify that
proof once per statement through `proone_principal()`. So an SQL injection can neither forge a
principal (it has no key) nor replay one from another transaction (the proof names it). The
token travels as a bind parameter, so it never appears in pg_stat_activity's query text.

On SQLite none of this runs: the ORM layer alone scopes queries there.
"""

import hashlib
import hmac
import time

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils.functional import SimpleLazyObject, empty

SYSTEM = "s"
USER = "u"
LOGIN_NAME = "n"
SETTING = "proone.principal"
# Acting for nobody: a SET LOCAL statement rather than set_config(), which does the same on one
# server. Citus sends a transaction's SET LOCAL statements to its workers (its principal
# reaches them that way, tests/citus/), so this clears the principal there too.
NOBODY = f"SET LOCAL {SETTING} = ''"
# Stated in proone_enter() (divisions/database/principal.sql).
TOKEN_LIFETIME = 10
CLOCK_SKEW = 2

# The tables under row-level security, stated once (tests and docs use these names; a test
# checks the database against them). The rule's own tables, whose policies compute the
# division rule, forced on their owner too (FORCE), which reads jobs, divisions, scopes and
# scope lists whole through read policies of its own (proone_owner_search, proone_owner_reads)
# for its functions that apply the rule themselves:
RULE_TABLES = (
    "jobs_job",
    "jobs_jobnote",
    "divisions_division",
    "divisions_datascope",
    "divisions_datascopedivision",
    "divisions_datascopechange",
)
# The tables that rule reads or that hold secrets, guarded against the app role
# (divisions/database/policies.sql and tokens.sql):
GUARDED_TABLES = (
    "divisions_tenant",
    "divisions_user",
    "guardian_userobjectpermission",
    "guardian_groupobjectpermission",
    "divisions_user_user_permissions",
    "divisions_user_groups",
    "auth_group",
    "auth_group_permissions",
    "django_session",
    "api_accesstoken",
    "django_admin_log",
    "divisions_accessreview",
)
# Other tables of per-principal rows, forced on their owner too (its functions never read them
# whole): django-axes' login history, each row under the sign-in look-up of the username it
# names, that tenant's admins (reading, unlocking) and system work (policies.sql); the API's
# rate windows, counted only by the SECURITY DEFINER proone_token_user() (tokens.sql); each
# user's spent form tokens and Idempotency-Keys (submits.sql).
OWN_ROWS_TABLES = (
    "axes_accessattempt",
    "axes_accessattemptexpiration",
    "axes_accessfailurelog",
    "axes_accesslog",
    "api_ratewindow",
    "submits_submit",
)
# Tables the database alone writes, through its triggers' SECURITY DEFINER functions, forced
# on their owner too (an owner policy admits those inserts): the DataScope history
# (history.sql).
RECORDED_TABLES = ("divisions_datascopeevent",)


def signing_key(secret=None):
    """The 64-byte HMAC-SHA256 key shared by the app and the database, made from `secret`
    (default: RLS_SIGNING_KEY, the one the app signs with)."""
    return hashlib.sha512((secret or settings.RLS_SIGNING_KEY).encode()).digest()


def retired_keys():
    """The keys of RLS_SIGNING_KEY_FALLBACKS, never the current one, without repeats: what the
    database accepts besides the current key while the fleet restarts onto it."""
    current = signing_key()
    keys = []
    for secret in settings.RLS_SIGNING_KEY_FALLBACKS:
        key = signing_key(secret)
        if key != current and key not in keys:
            keys.append(key)
    return keys


def key_pads(key=None):
    """The key XOR ipad and XOR opad, as the database stores it (HMAC from built-in sha256)."""
    key = key or signing_key()
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def sign(message):
    """Hex HMAC-SHA256 of `message` under the signing key (the database computes the same)."""
    return hmac.new(signing_key(), message.encode(), hashlib.sha256).hexdigest()


def principal_token(kind, principal_id, now=None):
    """A signed token naming a user (kind "u") or system work (kind "s", id 0)."""
    issued = int(now if now is not None else time.time())
    message = f"{kind}:{principal_id}:{issued}"
    return f"{message}:{sign(message)}"


def token_for(scope):
    """The token for a Scope, or None when the scope grants the database nothing."""
    if scope is None:
        return None
    if scope.is_unscoped:
        return principal_token(SYSTEM, 0)
    if scope.login_name is not None:
        if not scope.login_name:
            return None
        return principal_token(LOGIN_NAME, scope.login_name.encode().hex())
    if scope.principal_id is not None and not _loaded(scope.principal):
        user_id = scope.principal_id
    else:
        user = scope.principal
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        user_id = user.pk
    if not isinstance(user_id, int) or user_id < 1:
        return None
    return principal_token(USER, user_id)


def _loaded(user):
    """False for a request's lazy user that Django has not loaded yet."""
    # Reading _wrapped does not load it (Django's own code does the same).
    return not (isinstance(user, SimpleLazyObject) and user._wrapped is empty)


# {(alias, database name): whether it is a Citus cluster's}.
_citus = {}


def on_citus(using=DEFAULT_DB_ALIAS):
    """True when the database is a Citus cluster's coordinator (the citus extension is
    installed): the tables of citus_nodes.DISTRIBUTED_TABLES are distributed there, and its
    database layer is the Citus variant (divisions/database/citus.sql). Asked once per
    database."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    key = (using, connection.settings_dict["NAME"])
    if key not in _citus:
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
            _citus[key] = cursor.fetchone()[0]
    return _citus[key]


# (alias, database name) pairs seen with the guards installed; positive answers only.
_hardened = set()


def hardened(using=DEFAULT_DB_ALIAS):
    """True when the guards of divisions/database/ are installed: sessions by key, the
    sign-in look-up principal.

    New code may run against a database not yet migrated (a deploy applies migrations after
    the code lands); until then sessions and sign-in go through Django's tables directly.
    Checked until seen.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    key = (using, connection.settings_dict["NAME"])
    if key not in _hardened:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regprocedure('public.proone_login_name()') IS NOT NULL")
            if cursor.fetchone()[0]:
                _hardened.add(key)
    return key in _hardened


# The title search functions (divisions/database/title_search.sql): the newest matches, and
# any matches for a count. Both take (term, status, division id, wanted, before created_at,
# before id).
TITLE_SEARCH = "proone_title_search"
TITLE_MATCHES = "proone_title_matches"
TITLE_FUNCTIONS = (TITLE_SEARCH, TITLE_MATCHES)
# (alias, database name, function) seen to exist; positive answers only.
_searchable = set()


def title_search_functions(using=DEFAULT_DB_ALIAS):
    """The title search functions that exist: one statement asks about those not seen yet.
    None on a Citus cluster: there a job query's call runs on the workers, which cannot search
    the whole table (the title filter and the policies alone answer)."""
    if on_citus(using):
        return set()
    connection = connections[using]
    database = connection.settings_dict["NAME"]
    unseen = [f for f in TITLE_FUNCTIONS if (using, database, f) not in _searchable]
    if unseen:
        exists = ", ".join(["to_regprocedure(%s) IS NOT NULL"] * len(unseen))
        signature = "public.{}(text, text, bigint, integer, timestamptz, bigint)"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {exists}", [signature.format(f) for f in unseen])
            answers = cursor.fetchone()
        _searchable.update(
            (using, database, f) for f, ok in zip(unseen, answers, strict=True) if ok
        )
    return {f for f in TITLE_FUNCTIONS if (using, database, f) in _searchable}


def enforced(using=DEFAULT_DB_ALIAS):
    """True when the database enforces row-level security itself (PostgreSQL): the one answer
    to "must a scope reach the database?" for scoping, the managers and the checks."""
    return connections[using].vendor == "postgresql"


def set_principal(scope, using=DEFAULT_DB_ALIAS):
    """Make the open transaction act for `scope`: one statement, undone at its end."""
    connection = connections[using]
    token = token_for(scope)
    if scope is not None and scope.login_name is not None and not hardened(using):
        # Without the guards the user table has no policy: the look-up needs no principal.
        token = None
    if token is None:
        execute_bound(connection, NOBODY, [])
    elif not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        execute_bound(connection, "SELECT proone_enter(%s)", [token])
    elif execute_bound(connection, ENTER_ON_PREPARED, [token])[1]:
        connection.close()
        raise PlantedStatement(
            "A statement prepared in SQL was found on this database connection, which the "
            "app never prepares: an SQL injection's, left for the next request. The request "
            "is refused and the connection closed."
        )


# With DATABASE_PREPARED_STATEMENTS a connection runs the statements psycopg prepared under
# names of its own (_pg3_0, ...). An injection could DEALLOCATE one and PREPARE its own
# statement under that name, for the next request on the connection, another user's, to run
# in that user's principal. The app prepares nothing in SQL, so entering a principal asks for
# such a statement first (in the same round trip; this statement itself is never prepared).
ENTER_ON_PREPARED = (
    "SELECT proone_enter(%s), EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE from_sql)"
)


class PlantedStatement(DatabaseError):
    """A connection holds a statement prepared in SQL: refused, the connection closed."""


def execute_bound(connection, sql, params):
    """Run one statement with its parameters bound server-side and return its first row (None
    for a statement without rows).

    Django's psycopg cursors bind on the client, so the values become part of the query text
    that pg_stat_activity shows every connection of the same role until the next statement:
    a principal token or a session key must never travel that way."""
    connection.ensure_connection()
    # Never a named prepared statement: PgBouncer's transaction pooling cannot keep those.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=False)
        return cursor.fetchone() if cursor.description else None


def store_signing_key(cursor):
    """Write the signing key and the retired keys (RLS_SIGNING_KEY_FALLBACKS) into the
    database, dropping every other retired key; the number of retired keys stored (needs the
    owner role or a superuser). Run it in one transaction: a request then sees the keys before
    or after, never without its own. A database layer older than the retired keys' table
    (a migration of its own calls this) takes the current key alone."""
    inner, outer = key_pads()
    cursor.execute(
        "INSERT INTO proone_rls.signing_key (id, inner_pad, outer_pad) VALUES (1, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET inner_pad = EXCLUDED.inner_pad, "
        "outer_pad = EXCLUDED.outer_pad",
        [inner, outer],
    )
    cursor.execute("SELECT to_regclass('proone_rls.retired_signing_key') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return 0
    cursor.execute("DELETE FROM proone_rls.retired_signing_key")
    retired = [key_pads(key) for key in retired_keys()]
    for number, (inner, outer) in enumerate(retired, start=1):
        cursor.execute(
            "INSERT INTO proone_rls.retired_signing_key (id, inner_pad, outer_pad) "
            "VALUES (%s, %s, %s)",
            [number, inner, outer],
        )
    return len(retired)
