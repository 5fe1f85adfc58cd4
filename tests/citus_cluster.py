"""
Run tests against a Citus cluster: a coordinator and two workers, as the application role.

    CITUS_SRC=../shared/citus/citus-13.2.2.tar.gz python tests/citus_cluster.py [pytest arguments]

Citus comes from the installed PostgreSQL 15 (`citus.so` in its library directory) or, when it
is missing, is built from the source tarball named by CITUS_SRC and installed there (as root:
the build packages come from Debian, the server headers pinned to the installed server's exact
version so the server package is never upgraded). Without either it prints that the Citus pass
is SKIPPED and exits 0. Users with internet install Citus from its own packages instead
(https://docs.citusdata.com, "Install": Debian/Ubuntu and RPM repositories, container images).

Each node is a ThrowawayServer of tests/postgres_server.py (temporary directory, free port of
127.0.0.1, stopped by its pid file and deleted afterwards) with `shared_preload_libraries =
citus`. The nodes reach each other with passwords from a password file that only the server
processes read (PGPASSFILE). The test database and its roles are made on the coordinator by
`manage.py create_db_roles` as for one server, then on each worker, and the workers are added
to the coordinator's metadata. pytest gets PROONE_TEST_CITUS_WORKERS (the workers' ports), so
tests can look at a worker directly with the owner's password, and, in the same order,
PROONE_TEST_CITUS_WORKER_DATA (their data directories) and PROONE_TEST_CITUS_PASSFILE (the
nodes' password file, a path), so a fault test can stop a worker with pg_ctl as `postgres` and
start it again as it was (tests/cluster.py: stop_worker, start_worker).
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.postgres_server import PG_BIN, ThrowawayServer, main, url_with  # noqa: E402

BUILD_PACKAGES = ("libkrb5-dev", "liblz4-dev", "libzstd-dev", "flex", "bison", "autoconf")


def pg_config(option):
    return subprocess.run(  # noqa: S603 - the installed pg_config
        [str(PG_BIN / "pg_config"), option], check=True, capture_output=True, text=True
    ).stdout.strip()


def citus_installed():
    return (Path(pg_config("--pkglibdir")) / "citus.so").exists()


def installed_server_version():
    """The exact Debian version of the installed postgresql-15 package."""
    return subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "postgresql-15"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def build_citus(source):
    """Build Citus from the tarball `source` and install it into the installed PostgreSQL 15."""
    version = installed_server_version()
    print(f"Building Citus from {source} against PostgreSQL {version} (about two minutes)")
    apt = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # A new machine's package lists may be empty or old: read them first, as make test does
    # for chromium and pgbouncer.
    subprocess.run(["apt-get", "update", "-qq"], env=apt, check=True, stdout=subprocess.DEVNULL)  # noqa: S607
    subprocess.run(  # noqa: S603 - Debian's packages, the server headers pinned
        ["apt-get", "install", "-y", "-qq", f"postgresql-server-dev-15={version}", *BUILD_PACKAGES],  # noqa: S607
        env=apt,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if installed_server_version() != version:
        raise RuntimeError(f"the PostgreSQL server package changed from {version}: stop")
    directory = Path(tempfile.mkdtemp(prefix="proone-citus-build-"))
    try:
        subprocess.run(["tar", "xzf", str(source), "-C", str(directory)], check=True)  # noqa: S603,S607
        (tree,) = directory.iterdir()
        log = directory / "build.log"
        with log.open("w") as out:
            for step in (
                ["./configure", "--without-libcurl"],
                ["make", f"-j{os.cpu_count() or 2}"],
                ["make", "install"],
            ):
                if subprocess.run(step, cwd=tree, stdout=out, stderr=out).returncode:  # noqa: S603
                    raise RuntimeError(f"{' '.join(step)} failed:\n{log.read_text()[-3000:]}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def ensure_citus():
    """None when Citus is installed (building it from CITUS_SRC if needed), else why not."""
    if citus_installed():
        return None
    source = os.environ.get("CITUS_SRC")
    if not source:
        return "Citus is not installed and CITUS_SRC (a Citus source tarball) is not set"
    if Path(source).is_dir():  # ../shared/citus/ holds the tarball
        tarballs = sorted(Path(source).glob("citus-*.tar.gz"))
        if not tarballs:
            return f"CITUS_SRC={source} holds no citus-*.tar.gz"
        source = tarballs[-1]
    if not Path(source).is_file():
        return f"CITUS_SRC={source} is not a file"
    if os.geteuid() != 0:
        return "Citus is not installed, and building it needs root (for its build packages)"
    build_citus(source)
    return None if citus_installed() else "Citus was built but citus.so is still missing"


# On the coordinator, the app role may not choose the distributed transaction's id (a claim
# sealed to an old id would verify again) nor send commands of its own to the workers (there a
# session may call anything). The owner keeps both: its DDL connects to the coordinator as a
# node, and it copies the key to the workers (proone_rls.citus_copy_key). The workers keep
# Citus's grants: the coordinator calls assign_distributed_transaction_id() there as the
# session's role.
COORDINATOR_ONLY = r"""
DO $$
DECLARE
    function regprocedure;
BEGIN
    SET LOCAL citus.enable_ddl_propagation = off;
    FOR function IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND (p.proname = 'assign_distributed_transaction_id'
               OR p.proname LIKE 'run\_command\_on\_%'
               OR p.proname = 'master_run_on_worker')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', function);
    END LOOP;
    FOR function IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND p.proname IN ('assign_distributed_transaction_id', 'run_command_on_workers',
                            'master_run_on_worker')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', function,
                       (SELECT pg_get_userbyid(datdba) FROM pg_database
                        WHERE datname = current_database()));
    END LOOP;
END
$$
"""


class CitusCluster:
    """A coordinator and `workers` workers, each a ThrowawayServer with Citus preloaded."""

    def __init__(self, workers=2):
        self.directory = Path(tempfile.mkdtemp(prefix="proone-citus-"))
        self.passfile = self.directory / "pgpass"
        nodes = [
            ThrowawayServer(
                settings=[
                    "shared_preload_libraries=citus",
                    # One machine: few connections per node between the nodes.
                    "citus.max_shared_pool_size=60",
                ],
                environment={"PGPASSFILE": str(self.passfile)},
            )
            for _ in range(workers + 1)
        ]
        for node in nodes[1:]:
            node.password = nodes[0].password
        self.coordinator, *self.workers = nodes
        self.port = self.coordinator.port
        self.password = self.coordinator.password

    def add_passwords(self, passwords):
        """Let the nodes sign in to each other as these roles ({role: password})."""
        lines = [f"127.0.0.1:*:*:{role}:{password}" for role, password in passwords.items()]
        with self.passfile.open("a") as out:
            out.write("".join(f"{line}\n" for line in lines))
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            shutil.chown(self.passfile, "postgres")
        os.chmod(self.passfile, 0o600)

    def start(self):
        """Start every node; the coordinator's superuser URL."""
        self.add_passwords({"postgres": self.password})
        for node in [self.coordinator, *self.workers]:
            node.start()
        return url_with(self.admin_url(self.coordinator), "postgres", self.password, "postgres")

    def admin_url(self, node, database="postgres"):
        return f"postgres://postgres:{self.password}@127.0.0.1:{node.port}/{database}"

    def prepare(self, database, passwords):
        """Give `database` (made on the coordinator with its roles) Citus on every node."""
        import psycopg
        from psycopg import sql

        self.add_passwords(passwords)
        with psycopg.connect(self.admin_url(self.coordinator), autocommit=True) as admin:
            roles = admin.execute(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)",
                [list(passwords)],
            ).fetchall()
            owner = admin.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
            ).fetchone()[0]
        for worker in self.workers:
            with psycopg.connect(self.admin_url(worker), autocommit=True) as admin:
                for name, verifier in roles:
                    # The same SCRAM verifier: the same password on every node.
                    admin.execute(
                        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                            sql.Identifier(name), sql.Literal(verifier)
                        )
                    )
                admin.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
                        sql.Identifier(database), sql.Identifier(owner)
                    )
                )
        for node in [self.coordinator, *self.workers]:
            with psycopg.connect(self.admin_url(node, database), autocommit=True) as admin:
                admin.execute("CREATE EXTENSION citus")
        with psycopg.connect(self.admin_url(self.coordinator, database), autocommit=True) as admin:
            admin.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)", [self.port])
            for worker in self.workers:
                admin.execute("SELECT citus_add_node('127.0.0.1', %s)", [worker.port])
            admin.execute(COORDINATOR_ONLY)
        return {
            "PROONE_TEST_CITUS_WORKERS": ",".join(str(w.port) for w in self.workers),
            "PROONE_TEST_CITUS_WORKER_DATA": ",".join(str(w.data) for w in self.workers),
            "PROONE_TEST_CITUS_PASSFILE": str(self.passfile),
        }

    def stop(self):
        for node in [self.coordinator, *self.workers]:
            node.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


if __name__ == "__main__":
    reason = ensure_citus()
    if reason:
        print(f"*** CITUS PASS SKIPPED: {reason} ***")
        sys.exit(0)
    sys.exit(main(sys.argv[1:], server=CitusCluster()))
