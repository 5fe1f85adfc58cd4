"""
Run tests against a Citus cluster: a coordinator and two workers, as the application role.

    CITUS_SRC=../shared/citus/citus-13.2.2.tar.gz python tests/citus_cluster.py [pytest arguments]

Citus comes from the installed PostgreSQL 15 (`citus.so` in its library directory) or, when it
is missing or lacks one of the patches docs/citus-*.patch (PATCHES), is built from the source
tarball named by CITUS_SRC with all of them and installed there (as
root: the build packages come from Debian, the server headers pinned to the installed server's
exact version so the server package is never upgraded). Without either it prints that the
Citus pass is SKIPPED and exits 0. Citus's own packages (https://docs.citusdata.com,
"Install") lack the patches: the pass runs on them and says so, and the attack tests that the
patches stop fail there.

Each node is a ThrowawayServer of tests/postgres_server.py (temporary directory, free port of
127.0.0.1, stopped by its pid file and deleted afterwards) with `shared_preload_libraries =
citus`. The nodes reach each other with passwords from a password file that only the server
processes read (PGPASSFILE). The test database is set up as docs/citus-runbook.sh sets one
up: `manage.py create_db_roles` on the coordinator as for one server, then on each worker, then
`manage.py citus_nodes` adds the workers to the coordinator. pytest gets
PROONE_TEST_CITUS_WORKERS (the workers' ports), so tests can look at a worker directly with the
owner's password, the coordinator's port and the nodes' password file (a path) for the
runbook's test, and, in the workers' order, PROONE_TEST_CITUS_WORKER_DATA (their data
directories), so a fault test can stop a worker with pg_ctl as `postgres` and start it again as
it was (tests/cluster.py: stop_worker, start_worker).
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.postgres_server import PG_BIN, ROOT, ThrowawayServer, main, url_with  # noqa: E402

BUILD_PACKAGES = ("libkrb5-dev", "liblz4-dev", "libzstd-dev", "flex", "bison", "autoconf", "patch")

# The patches applied when building Citus 13.2.2, each with a message that a build holding it
# has and one without it lacks: a backend that crashes on queries planning a table under
# row-level security as a subquery of its own (tests/citus/test_planner_attacks.py), a
# statement that assigns itself another transaction's id on a worker, a SET LOCAL that sends
# the rest of its query to the workers, and names and strings that end early in the text sent
# to the workers (tests/citus/test_worker_sql_attacks.py).
PATCHES = {
    ROOT / "docs" / "citus-rls-quals.patch": b"row-level security quals renumbered for a subquery",
    ROOT / "docs" / "citus-transaction-id.patch": (
        b"a distributed transaction id is assigned only in a transaction block"
    ),
    ROOT / "docs" / "citus-set-local.patch": b"SET LOCAL sent to the workers without the rest",
    ROOT / "docs" / "citus-worker-text.patch": b"is not sent to the workers while standard_",
}


def pg_config(option):
    return subprocess.run(  # noqa: S603 - the installed pg_config
        [str(PG_BIN / "pg_config"), option], check=True, capture_output=True, text=True
    ).stdout.strip()


def citus_library():
    return Path(pg_config("--pkglibdir")) / "citus.so"


def citus_installed():
    return citus_library().exists()


def citus_missing_patches():
    """The names of the PATCHES the installed citus.so lacks."""
    library = citus_library().read_bytes()
    return [patch.name for patch, marker in PATCHES.items() if marker not in library]


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
                *(["patch", "-p1", "-i", str(patch)] for patch in PATCHES),
                ["./configure", "--without-libcurl"],
                ["make", f"-j{os.cpu_count() or 2}"],
                ["make", "install"],
            ):
                if subprocess.run(step, cwd=tree, stdout=out, stderr=out).returncode:  # noqa: S603
                    raise RuntimeError(f"{' '.join(step)} failed:\n{log.read_text()[-3000:]}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def ensure_citus():
    """None when Citus is installed (building it from CITUS_SRC with PATCHES if it is missing or
    lacks one), else why not."""
    missing = citus_missing_patches() if citus_installed() else None
    if missing == []:
        return None
    source = os.environ.get("CITUS_SRC")
    if missing:
        if not source or os.geteuid() != 0:
            print(
                f"*** The installed Citus lacks {', '.join(missing)}: the attack tests it stops "
                "will fail, tests/citus/test_planner_attacks.py by crashing the coordinator's "
                "backends (set CITUS_SRC, as root, to build it with the patches) ***"
            )
            return None
        print(f"The installed Citus lacks {', '.join(missing)}: building it again with the patches")
    elif not source:
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


def manage(env, *command, **more):
    """Run manage.py `command` with `env` and `more`; its output only when it fails."""
    result = subprocess.run(  # noqa: S603 - the project's manage.py
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env={**env, **more},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(command)}: {result.stdout}{result.stderr}")


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
        # Any host: a node reaches itself as citus.local_hostname (localhost), the others as
        # 127.0.0.1.
        lines = [f"*:*:*:{role}:{password}" for role, password in passwords.items()]
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

    def prepare(self, passwords, env):
        """Give the database of `env` (made on the coordinator by create_db_roles, with the
        roles of `passwords`) Citus on every node, as docs/citus-runbook.sh does: each worker
        gets the same roles, database and extension from its own create_db_roles, then the
        coordinator adds them (manage.py citus_nodes)."""
        self.add_passwords(passwords)
        for worker in self.workers:
            manage(env, "create_db_roles", DATABASE_ADMIN_URL=self.admin_url(worker))
        manage(env, "citus_nodes", *(f"127.0.0.1:{worker.port}" for worker in self.workers))
        return {
            "PROONE_TEST_CITUS_WORKERS": ",".join(str(w.port) for w in self.workers),
            "PROONE_TEST_CITUS_WORKER_DATA": ",".join(str(w.data) for w in self.workers),
            # The runbook's test sets up a database of its own on these nodes as their
            # superuser, reading the password from this libpq password file, as an operator
            # reads it from ~/.pgpass: no secret in an argument or in the environment.
            "PROONE_TEST_CITUS_COORDINATOR": str(self.port),
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
