"""
The writes rows of `make bench`: the portal's pages under the write rule's policies on jobs_job
and jobs_jobnote (divisions/database/policies.sql) against the single policy for every command
they replaced, on the benchmark's one database.

Round by round the owner swaps the two tables' policies in place (one transaction), and each
page is fetched once untimed (the backend rebuilds what it keeps of the table and replans the
functions that read it), then timed, under each set in turn; the set that goes first
alternates. The same connection, data, buffers and pages for both: only the policies differ.
Each fetch also counts CPU time (this process and its PostgreSQL backend), which other work
on a shared machine moves far less than the wall clock.
"""

import time

import psycopg
from psycopg import sql

from benchmarks.measure import timed

TABLES = ("jobs_job", "jobs_jobnote")
# Timed fetches of each page per round and policy set, after one untimed.
TIMED_PER_ROUND = 3
ONE_POLICY = "one policy for every command"
PER_COMMAND = "the write rule's policies"

# The policies the write rule replaced: on jobs_job one policy for every command (whoever sees a
# job may insert, update and delete it, into any division they see); on jobs_jobnote, whoever
# sees a job may delete its notes, and edit those in their own name.
SINGLE_POLICY = """
CREATE POLICY proone_scope ON jobs_job
    USING (
        (SELECT proone_acting_system())
        OR (division_id = ANY ((SELECT proone_visible_divisions())::bigint[]))
        OR (tenant_id = (SELECT proone_admin_tenant()))
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (division_id = ANY ((SELECT proone_visible_divisions())::bigint[]))
        OR (tenant_id = (SELECT proone_admin_tenant()))
    );

CREATE POLICY proone_delete ON jobs_jobnote
    FOR DELETE
    USING (
        (SELECT proone_acting_system())
        OR (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
    );

CREATE POLICY proone_update ON jobs_jobnote
    FOR UPDATE
    USING (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
            AND (author_id = (SELECT proone_principal()))
            AND ((author_name)::text = (( SELECT u.username FROM divisions_user u WHERE (u.id = (SELECT proone_principal()))))::text)
        )
    )
    WITH CHECK (
        (SELECT proone_acting_system())
        OR (
            (tenant_id = (SELECT proone_acting_tenant()))
            AND (EXISTS ( SELECT 1 FROM jobs_job j WHERE (j.id = jobs_jobnote.job_id)))
            AND (author_id = (SELECT proone_principal()))
            AND ((author_name)::text = (( SELECT u.username FROM divisions_user u WHERE (u.id = (SELECT proone_principal()))))::text)
        )
    );
"""  # noqa: E501 - the catalog's own lines

# The write rule's policies on jobs_job that SINGLE_POLICY's proone_scope stands for.
REPLACED_ON_JOBS = (
    "proone_read",
    "proone_insert",
    "proone_update",
    "proone_delete",
    "proone_update_status",
)


def policy_sets():
    """{set: [CREATE POLICY, ...]} for TABLES: as divisions/database/ states them today, and
    with SINGLE_POLICY in place of the write rule's (every other policy the same)."""
    from divisions.database import source, statements

    today = {
        key: text
        for key, text in source.objects().items()
        if key.startswith("policy ") and key.rsplit(" on ", 1)[1] in TABLES
    }
    replaced = {f"policy {name} on jobs_job" for name in REPLACED_ON_JOBS}
    if missing := replaced - today.keys():
        raise RuntimeError(f"the source no longer states {', '.join(sorted(missing))}")
    single = {key: text for key, text in today.items() if key not in replaced}
    single.update(statements.objects(SINGLE_POLICY))
    return {ONE_POLICY: list(single.values()), PER_COMMAND: list(today.values())}


def install(owner, policies):
    """Replace every policy on TABLES with `policies`, in one transaction on `owner` (an
    autocommit psycopg connection as the tables' owner)."""
    with owner.transaction():
        found = owner.execute(
            "SELECT polname, polrelid::regclass::text FROM pg_policy "
            "WHERE polrelid = ANY (%s::regclass[])",
            [list(TABLES)],
        ).fetchall()
        for name, table in found:
            owner.execute(
                sql.SQL("DROP POLICY {} ON {}").format(sql.Identifier(name), sql.Identifier(table))
            )
        for statement in policies:
            owner.execute(statement)


def alternate(owner_url, functions, rounds):
    """{set: [[(wall ms, CPU ms) per fetch] per function]}: after a first round untimed, in
    each of `rounds`, under each policy set in turn, every function once untimed and then
    TIMED_PER_ROUND times in alternation (measured); the n-th fetch of a round under one set
    pairs with the n-th under the other. Today's policies are installed again at the end,
    whatever happens."""
    sets = policy_sets()
    names = list(sets)
    samples = {name: [[] for _ in functions] for name in names}
    with psycopg.connect(owner_url, autocommit=True) as owner:
        try:
            for name in names:  # a first round, untimed: the process's own first fetches
                install(owner, sets[name])
                timed(functions, 0)
            for round_number in range(rounds):
                for name in names if round_number % 2 == 0 else names[::-1]:
                    install(owner, sets[name])
                    timed(functions, 0)
                    for _ in range(TIMED_PER_ROUND):
                        for function, taken in zip(functions, samples[name], strict=True):
                            taken.append(measured(function))
        finally:
            install(owner, sets[PER_COMMAND])
    return samples


def measured(function):
    """(wall ms, CPU ms) of one call of `function`, the CPU time being this process's and
    that of the PostgreSQL backend of Django's connection (None when that backend is not on
    this machine). Taken again when the call replaced the connection (its age limit): the old
    backend's time is gone with it."""
    while True:
        backend = app_backend()
        cpu_before = cpu_ms(backend)
        started = time.perf_counter()
        function()
        wall = (time.perf_counter() - started) * 1000
        if app_backend() == backend:
            cpu_after = cpu_ms(backend)
            if None in (cpu_before, cpu_after):
                return wall, None
            return wall, cpu_after - cpu_before


def app_backend():
    """The process id of the PostgreSQL backend serving Django's default connection."""
    from django.db import connection

    connection.ensure_connection()
    return connection.connection.info.backend_pid


def cpu_ms(backend):
    """CPU milliseconds so far of this process and of the PostgreSQL backend `backend` (the
    kernel's nanoseconds on CPU, /proc/PID/schedstat), or None when it cannot be read."""
    try:
        with open(f"/proc/{backend}/schedstat") as stat:
            on_cpu = int(stat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (time.process_time_ns() + on_cpu) / 1e6
