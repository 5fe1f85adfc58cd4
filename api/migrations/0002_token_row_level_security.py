"""
PostgreSQL only: the token table, guarded against the app role as `django_session` is.

What an injection running as the app role gets must not be a usable token for someone else:

- a principal reads and writes only its own tokens (tenant admins and system work may also
  read and delete their users' tokens: deleting a user deletes them); a row is inserted only
  in the principal's own name, never by system work, so no principal can mint a token for
  another user, and a stored digest is a SHA-256 of 256 random bits, useless to a reader;
- a stored token never changes hands, hash, creation or expiry time, and a revocation is
  final (a trigger, which binds the owner too);
- a request's token is checked only by the key-addressed SECURITY DEFINER function
  `proone_token_user(token)`: it hashes the token itself (a digest read from the table is not
  a token), accepts only an unrevoked, unexpired token of an active user, and notes the last
  use at most once a minute without ever waiting on a lock.

Row-level security is enabled, not forced, so that function (owned by the owner role) reads
the stored truth. On other databases every operation here is a no-op.
"""

import importlib

from django.db import migrations

PostgresSQL = importlib.import_module("divisions.migrations.0003_row_level_security").PostgresSQL

SYSTEM = "(SELECT proone_acting_system())"
OWN = "user_id = (SELECT proone_principal())"
TENANT_USERS = (
    "((SELECT proone_acting_tenant_admin()) "
    "AND user_id = ANY ((SELECT proone_tenant_users())::bigint[]))"
)
READ = f"{OWN} OR {SYSTEM} OR {TENANT_USERS}"
NEW_ROW = f"{OWN} AND revoked_at IS NULL AND last_used_at IS NULL"

TOKENS = f"""
ALTER TABLE api_accesstoken ENABLE ROW LEVEL SECURITY;
CREATE POLICY proone_read ON api_accesstoken FOR SELECT USING ({READ});
CREATE POLICY proone_insert ON api_accesstoken FOR INSERT WITH CHECK ({NEW_ROW});
CREATE POLICY proone_update ON api_accesstoken FOR UPDATE USING ({OWN}) WITH CHECK ({OWN});
CREATE POLICY proone_delete ON api_accesstoken FOR DELETE USING ({READ});

CREATE FUNCTION public.proone_token_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id
       OR NEW.digest IS DISTINCT FROM OLD.digest
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
       OR (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at) THEN
        RAISE EXCEPTION 'an access token''s owner, hash, dates and revocation cannot change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER proone_token_guard BEFORE UPDATE ON api_accesstoken
    FOR EACH ROW EXECUTE FUNCTION public.proone_token_guard();

-- The token's id and user id, when `token` is usable; no row otherwise.
CREATE FUNCTION public.proone_token_user(token text)
RETURNS TABLE (token_id bigint, user_id bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    found_token bigint;
    found_user bigint;
BEGIN
    SELECT t.id, t.user_id INTO found_token, found_user
    FROM api_accesstoken t JOIN divisions_user u ON u.id = t.user_id
    WHERE t.digest = encode(sha256(convert_to(token, 'UTF8')), 'hex')
      AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > clock_timestamp())
      AND u.is_active;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- Concurrent requests with the same token skip the row rather than queue behind it.
    UPDATE api_accesstoken t SET last_used_at = clock_timestamp()
    WHERE t.id = (SELECT l.id FROM api_accesstoken l
                  WHERE l.id = found_token
                    AND (l.last_used_at IS NULL OR l.last_used_at < clock_timestamp() - interval '1 minute')
                  FOR UPDATE SKIP LOCKED);
    token_id := found_token;
    user_id := found_user;
    RETURN NEXT;
END
$$;
"""
UNDO_TOKENS = """
DROP FUNCTION public.proone_token_user(text);
DROP TRIGGER proone_token_guard ON api_accesstoken;
DROP FUNCTION public.proone_token_guard();
DROP POLICY proone_delete ON api_accesstoken;
DROP POLICY proone_update ON api_accesstoken;
DROP POLICY proone_insert ON api_accesstoken;
DROP POLICY proone_read ON api_accesstoken;
ALTER TABLE api_accesstoken DISABLE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("api", "0001_initial"),
        ("divisions", "0006_jobnote_row_level_security"),
    ]

    operations = [PostgresSQL(TOKENS, UNDO_TOKENS)]
