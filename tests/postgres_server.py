"""
Run the whole test suite against PostgreSQL 15, as the application role.

    python tests/postgres_server.py [pytest arguments]

Without PROONE_TEST_POSTGRES_URL it creates a throwaway server: initdb into a temporary
directory (as the `postgres` user when run as root), pg_ctl on a free port of 127.0.0.1, and
always stops and deletes it afterwards, also on failure or Ctrl-C. With
PROONE_TEST_POSTGRES_URL (a superuser URL) it uses that server instead, in a database and
roles with random names that it drops afterwards.

Either way `manage.py create_db_roles` makes the owner and app roles; pytest then connects
with DATABASE_URL as the app role, and tests/pg_setup.py migrates as the owner role. On the
throwaway server a replication role is made too (PROONE_TEST_REPLICATION_URL): the read
replica's tests start a hot standby of it (Standby) when they run, and only then.

The servers here (ThrowawayServer, PgBouncer) are the one harness that the tests and the
benchmarks (`python -m benchmarks.run`) both start.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = os.environ.get("PGBOUNCER", "/usr/sbin/pgbouncer")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, what, seconds=30, log=None):
    """Return once `port` accepts connections; raise RuntimeError if `process` dies first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
                raise RuntimeError(f"{what} did not start on port {port}. {tail}") from None
            time.sleep(0.05)


def as_postgres(command):
    """Run PostgreSQL's tools as `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class ThrowawayServer:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self, settings=(), password=None, environment=None):
        """`settings`: extra `-c name=value` server options; `environment`: extra variables of
        the server process (e.g. PGPASSFILE for its own outgoing connections)."""
        self.directory = Path(tempfile.mkdtemp(prefix="proone-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.password = password or secrets.token_urlsafe(24)
        self.settings = tuple(settings)
        self.environment = dict(environment or {})
        self.started = False

    def start(self):
        password_file = self.directory / "superuser-password"
        password_file.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            shutil.chown(password_file, "postgres")
        os.chmod(password_file, 0o600)
        subprocess.run(  # noqa: S603 - fixed PostgreSQL tools, no user input
            as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    f"--pwfile={password_file}",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        password_file.unlink()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 "
            # PostgreSQL 15's defaults, stated: a Standby streams from this server.
            "-c wal_level=replica -c max_wal_senders=4"
        )
        options += "".join(f" -c {setting}" for setting in self.settings)
        self.started = True
        subprocess.run(  # noqa: S603 - fixed PostgreSQL tools, no user input
            as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.directory / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            env=dict(os.environ, **self.environment),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return f"postgres://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def prepare(self, passwords, env):
        """Environment for the tests of the database of `env`, after `create_db_roles` made it
        and the roles of `passwords` ({role: password}): nothing more on one server."""
        return {}

    def stop(self):
        if self.started:
            subprocess.run(  # noqa: S603
                as_postgres(
                    [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        shutil.rmtree(self.directory, ignore_errors=True)


class Standby:
    """A hot standby of a server on 127.0.0.1: `pg_basebackup -R` into a second data directory,
    streaming from it, on another free port. Its data directory is ours, so its superuser is
    reachable by peer authentication on its socket (sql()), e.g. to pause replay."""

    def __init__(self, replication_url):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(replication_url)
        self.primary_port = parts.port
        self.user = unquote(parts.username)
        self.password = unquote(parts.password)
        self.directory = Path(tempfile.mkdtemp(prefix="proone-standby-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.running = False

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        subprocess.run(  # noqa: S603 - fixed PostgreSQL tools, no user input
            as_postgres(
                [
                    str(PG_BIN / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.primary_port),
                    "-U",
                    self.user,
                    "-D",
                    str(self.data),
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                ]
            ),
            env=dict(os.environ, PGPASSWORD=self.password),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        hba = self.data / "pg_hba.conf"
        hba.write_text("local all postgres peer\n" + hba.read_text())
        self.resume()
        return self.port

    def resume(self):
        """Start (again) serving reads on self.port."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            # A hot standby needs at least the primary's max_connections.
            "-c max_connections=200 -c hot_standby=on -c fsync=off"
        )
        subprocess.run(  # noqa: S603 - fixed PostgreSQL tools, no user input
            as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.directory / "standby.log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.running = True

    def sql(self, statement):
        """Run `statement` as the standby's superuser; its output, one line per row."""
        result = subprocess.run(  # noqa: S603 - fixed PostgreSQL tools, the tests' SQL
            as_postgres(
                [
                    str(PG_BIN / "psql"),
                    "-h",
                    str(self.directory),
                    "-p",
                    str(self.port),
                    "-d",
                    "postgres",
                    "-Atc",
                    statement,
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def halt(self):
        """Stop the standby's server (its data directory stays)."""
        if self.running:
            subprocess.run(  # noqa: S603
                as_postgres(
                    [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            self.running = False

    def stop(self):
        self.halt()
        shutil.rmtree(self.directory, ignore_errors=True)


class PgBouncer:
    """PgBouncer on 127.0.0.1 in transaction-pooling mode in front of one database."""

    def __init__(self, host, port, database, user, password, pool_size=8, max_clients=200):
        self.directory = Path(tempfile.mkdtemp(prefix="proone-pgbouncer-"))
        self.port = free_port()
        self.log = self.directory / "pgbouncer.log"
        (self.directory / "users.txt").write_text(f'"{user}" "{password}"\n')
        (self.directory / "pgbouncer.ini").write_text(
            f"[databases]\n{database} = host={host} port={port} dbname={database}\n\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            "unix_socket_dir =\nauth_type = scram-sha-256\n"
            f"auth_file = {self.directory}/users.txt\npool_mode = transaction\n"
            f"default_pool_size = {pool_size}\nmax_client_conn = {max_clients}\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.log}\n"
        )
        self.process = None

    def start(self):
        """Start it and return its port; RuntimeError with its log when it does not come up."""
        if not Path(PGBOUNCER).exists():
            raise RuntimeError(f"PgBouncer is not installed at {PGBOUNCER}")
        as_root = os.geteuid() == 0
        if as_root:  # PgBouncer refuses to run as root
            for path in [self.directory, *self.directory.iterdir()]:
                shutil.chown(path, "postgres")
        os.chmod(self.directory / "users.txt", 0o600)
        self.process = subprocess.Popen(  # noqa: S603 - the installed PgBouncer, our config
            [PGBOUNCER, str(self.directory / "pgbouncer.ini")],
            user="postgres" if as_root else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "PgBouncer", log=self.log)
        return self.port

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)


def drop_database_and_roles(admin_url, database, roles):
    """Remove what the run created on a server it does not own."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        for role in roles:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def create_replication_role(admin_url, name, password):
    """A role that may stream the server's WAL (pg_basebackup) and nothing else."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN REPLICATION PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )


def url_with(admin_url, user, password, database):
    """The admin URL's host and port with another role and database."""
    from urllib.parse import urlsplit

    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{database}"


def main(pytest_args, server=None):
    """Run pytest against `server` (a ThrowawayServer, or one like it such as the Citus
    cluster of tests/citus_cluster.py), or PROONE_TEST_POSTGRES_URL, or a new throwaway one."""

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    external = None if server else os.environ.get("PROONE_TEST_POSTGRES_URL")
    suffix = secrets.token_hex(4)
    database = f"test_proone_{suffix}"
    owner, app = f"proone_owner_{suffix}", f"proone_app_{suffix}"
    passwords = {owner: secrets.token_urlsafe(18), app: secrets.token_urlsafe(18)}
    try:
        if external:
            admin_url = external
            print(
                f"PostgreSQL tests on the server in PROONE_TEST_POSTGRES_URL, database {database}"
            )
        else:
            server = server or ThrowawayServer()
            admin_url = server.start()
            print(f"PostgreSQL tests on a throwaway server, 127.0.0.1:{server.port}")
        env = dict(
            os.environ,
            DATABASE_URL=url_with(admin_url, app, passwords[app], database),
            DATABASE_MIGRATE_URL=url_with(admin_url, owner, passwords[owner], database),
            DATABASE_ADMIN_URL=admin_url,
            DJANGO_SETTINGS_MODULE="tests.settings",
        )
        subprocess.run(
            [sys.executable, "manage.py", "create_db_roles"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if server:
            env.update(server.prepare(passwords, env))
            replicator = f"proone_replicator_{suffix}"
            replication_password = secrets.token_urlsafe(18)
            create_replication_role(admin_url, replicator, replication_password)
            env["PROONE_TEST_REPLICATION_URL"] = url_with(
                admin_url, replicator, replication_password, "postgres"
            )
        # The tests never see the superuser URL. They get the owner's under a test-only name:
        # with DATABASE_MIGRATE_URL set the app would also register the gate's `migrate` alias.
        del env["DATABASE_ADMIN_URL"]
        env["PROONE_TEST_OWNER_URL"] = env.pop("DATABASE_MIGRATE_URL")
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env
        )
        print(f"PostgreSQL run finished in {time.monotonic() - started:.0f}s")
        return result.returncode
    except KeyboardInterrupt:
        print("interrupted: stopping PostgreSQL", file=sys.stderr)
        return 130
    except subprocess.CalledProcessError as error:
        print(f"could not prepare PostgreSQL: {error}", file=sys.stderr)
        if server:
            log = server.directory / "server.log"
            if log.exists():
                print(log.read_text()[-3000:], file=sys.stderr)
        return 1
    finally:
        if server:
            server.stop()
        elif external:
            drop_database_and_roles(external, database, [app, owner])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
