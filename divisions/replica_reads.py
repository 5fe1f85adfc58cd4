"""The read replica's transaction for one outermost scope: its reads on the standby, acting
for the same principal (the router and the middleware: divisions/replicas.py)."""

import contextvars
from contextlib import ExitStack, contextmanager, suppress

import psycopg
from django.db import DatabaseError, connections, transaction

from . import rls

# The read replica's alias (DATABASE_REPLICA_URL), whether the running code may read there,
# and the outermost scope's reads served by it.
REPLICA = "replica"
_replica_wanted = contextvars.ContextVar("proone_replica_wanted", default=False)
_replica_reads = contextvars.ContextVar("proone_replica_reads", default=None)


class ReplicaReads:
    """The reads of one outermost scope served by the replica, in a transaction of its own.

    The replica's transaction is opened, and the principal entered there, on the first read
    routed to it (divisions/replicas.py): a scope that never reads from the replica sends it
    nothing. Reads go to the primary once the scope has written (read-your-writes), inside a
    nested scope (its principal lives on the primary's connection only), or when the replica
    could not be reached.
    """

    def __init__(self, scope):
        self.scope = scope
        self.principal = scope
        self.wrote = False
        self.failed = False
        self._stack = None

    def serves(self, current):
        """True when the next read of `current`, the running scope, may go to the replica."""
        return not (self.wrote or self.failed) and current is self.scope

    def enter(self):
        """Open the replica's transaction acting for the principal; False if unreachable."""
        if self._stack is not None:
            return True
        stack = ExitStack()
        try:
            stack.enter_context(transaction.atomic(using=REPLICA))
            rls.set_principal(self.principal, using=REPLICA)
        except (DatabaseError, psycopg.Error) as error:
            # set_principal speaks to psycopg directly: its errors are psycopg's own.
            # The rollback of a connection that is gone fails too; it is closed just below.
            with suppress(DatabaseError, psycopg.Error):
                stack.__exit__(type(error), error, error.__traceback__)
            connections[REPLICA].close()
            self.failed = True
            return False
        self._stack = stack
        return True

    def act_for(self, scope):
        """Act for `scope` (None: nobody) on the replica too, from now on."""
        self.principal = scope
        if self._stack is not None:
            rls.set_principal(scope, using=REPLICA)

    def close(self, exc_info=(None, None, None)):
        if self._stack is not None:
            self._stack.__exit__(*exc_info)
            self._stack = None


@contextmanager
def replica_allowed():
    """Let the outermost scope entered inside the block read from the replica."""
    token = _replica_wanted.set(True)
    try:
        yield
    finally:
        _replica_wanted.reset(token)


def replica_reads():
    """The ReplicaReads of the running scope, or None when reads stay on the primary."""
    return _replica_reads.get()


@contextmanager
def replica_transaction(scope, outer):
    """ReplicaReads for `scope` when it is outermost (`outer` is None) inside replica_allowed()
    and the replica is configured; else None."""
    if outer is not None or not _replica_wanted.get() or REPLICA not in connections:
        yield None
        return
    reads = ReplicaReads(scope)
    token = _replica_reads.set(reads)
    try:
        yield reads
    except BaseException as error:
        reads.close((type(error), error, error.__traceback__))
        raise
    else:
        reads.close()
    finally:
        _replica_reads.reset(token)
