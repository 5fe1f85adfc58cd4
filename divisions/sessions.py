"""Sessions on PostgreSQL: reached only by key, through SECURITY DEFINER functions.

The app role sees no row of `django_session` (row-level security, no policy for it), so SQL
run as the app role cannot list live session keys. Each call names one key; the database
stores a SHA-256 of it (proone_rls.session_id in divisions/database/guards.sql). On other
databases, and on a PostgreSQL database the layer is not installed on yet, this is Django's
database backend unchanged.
"""

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.db import DEFAULT_DB_ALIAS, connections, router

from . import rls


class SessionStore(db.SessionStore):
    """Django's database sessions; on PostgreSQL through the key-addressed functions."""

    def _connection(self, write=False):
        # Sessions live on the primary; only a write asks the router (which notes that the
        # request wrote: divisions/replicas.py), so reading one is not taken for a write.
        alias = router.db_for_write(self.model) if write else DEFAULT_DB_ALIAS
        return connections[alias] if rls.hardened(alias) else None

    def _call(self, connection, function, *args):
        placeholders = ", ".join(["%s"] * len(args))
        return rls.execute_bound(connection, f"SELECT {function}({placeholders})", args)[0]

    def load(self):
        connection = self._connection()
        if connection is None:
            return super().load()
        data = self._call(connection, "proone_session_load", self.session_key or "")
        if data is None:
            self._session_key = None
            return {}
        return self.decode(data)

    def exists(self, session_key):
        connection = self._connection()
        if connection is None:
            return super().exists(session_key)
        return self._call(connection, "proone_session_exists", session_key)

    def save(self, must_create=False):
        connection = self._connection(write=True)
        if connection is None:
            return super().save(must_create)
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        saved = self._call(
            connection,
            "proone_session_save",
            self._get_or_create_session_key(),
            self.encode(data),
            self.get_expiry_date(),
            must_create,
        )
        if not saved:
            raise CreateError if must_create else UpdateError

    def delete(self, session_key=None):
        connection = self._connection(write=True)
        if connection is None:
            return super().delete(session_key)
        session_key = session_key or self.session_key
        if session_key is not None:
            self._call(connection, "proone_session_delete", session_key)

    @classmethod
    def clear_expired(cls):
        alias = router.db_for_write(cls.get_model_class())
        if not rls.hardened(alias):
            return super().clear_expired()
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT proone_session_clear_expired()")

    # Async callers take the same paths.
    async def aload(self):
        return await sync_to_async(self.load)()

    async def aexists(self, session_key):
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create=False):
        return await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key=None):
        return await sync_to_async(self.delete)(session_key)

    @classmethod
    async def aclear_expired(cls):
        return await sync_to_async(cls.clear_expired)()
