"""
The deploy runbook, run as an operator runs it: docs/deploy-runbook.sh (the commands
docs/deploy.md quotes) step by step in subprocesses, against an empty throwaway PostgreSQL,
from a git checkout of the project with production settings (DEBUG off), then gunicorn with
proone/gunicorn.conf.py serving the portal. Bad input at each step gets one line saying what to
do, never a traceback.
"""

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest

from tests.postgres_server import ThrowawayServer, free_port, url_with

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = "docs/deploy-runbook.sh"
DEVELOPER = "Proone Developer <dev@proone.example>"
REVIEWER, REVIEWER_PASSWORD = "rita", secrets.token_urlsafe(12)
# A later migration: it follows the newest migration of the jobs app.
LATEST_JOBS = max(path.stem for path in (REPO / "jobs" / "migrations").glob("0*.py"))
LATER = f"{int(LATEST_JOBS[:4]) + 1:04d}_job_table_comment"
NEW_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("jobs", "LATEST_JOBS")]

    operations = [
        migrations.RunSQL(
            "COMMENT ON TABLE jobs_job IS 'Jobs of every tenant (row-level security)'",
            "COMMENT ON TABLE jobs_job IS NULL",
        ),
    ]
""".replace("LATEST_JOBS", LATEST_JOBS)


def git(cwd, *args, author=DEVELOPER):
    name, email = author[:-1].split(" <")
    subprocess.run(  # noqa: S603
        ["git", "-c", f"user.name={name}", "-c", f"user.email={email}", *args],  # noqa: S607
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def checkout_copy(target):
    """The project as deployed: its files (committed or not) in a fresh git repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],  # noqa: S607
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # The installed dependencies: `make serve` finds them where `make` put them.
    (target / ".venv").symlink_to(REPO / ".venv")
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "release")
    return target


class Deploy:
    """One machine's deploy: the checkout, the environment, and the runbook's steps."""

    def __init__(self, checkout, admin_url, runbook=RUNBOOK):
        self.checkout = checkout
        self.admin_url = admin_url
        self.runbook = runbook
        database = "proone"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("DATABASE_", "PROONE_", "DJANGO_", "GUNICORN_", "SECURE_", "GATE_")
            )
        }
        self.env.update(
            PY=sys.executable,
            DJANGO_SETTINGS_MODULE="proone.settings",
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            # Plain HTTP on 127.0.0.1 in this test; production terminates TLS in front.
            SECURE_SSL_REDIRECT="0",
            DATABASE_URL=url_with(admin_url, "proone_app", secrets.token_urlsafe(16), database),
            DATABASE_MIGRATE_URL=url_with(
                admin_url, "proone_owner", secrets.token_urlsafe(16), database
            ),
            REVIEWER=REVIEWER,
            REVIEWER_EMAIL="rita@reviews.example",
            # The operator's shell holds the gate key and names the anchor; the runbook's check
            # and serve steps drop both.
            GATE_SIGNING_KEY=secrets.token_hex(32),
            GATE_AUDIT_ANCHOR=str(checkout.parent / "audit-anchor.log"),
        )

    def run(self, step, *args, stdin=None, **env):
        environment = {**self.env, **env}
        for name, value in env.items():
            if value is None:
                del environment[name]
        return subprocess.run(  # noqa: S603
            ["sh", self.runbook, step, *args],  # noqa: S607
            cwd=self.checkout,
            env=environment,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def ok(self, step, *args, **kwargs):
        result = self.run(step, *args, **kwargs)
        assert result.returncode == 0, f"{step}: {result.stdout}\n{result.stderr}"
        return result

    def admin(self, sql, dbname="proone"):
        with psycopg.connect(self.admin_url, dbname=dbname, autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else None


def pending_project_migrations(plan):
    """The migrations `plan` output lists to apply without a valid sign-off: once the packages
    step has reviewed the installed packages' migrations, the project's own."""
    return [
        label
        for label, state in re.findall(r"^(\S+) +apply +(\S+)", plan, re.MULTILINE)
        if state != "valid"
    ]


def refused(result, *fragments):
    """Assert `result` failed with one CommandError line naming the fix, and no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("CommandError: "), result.stderr
    for fragment in fragments:
        assert fragment in last, last
    return last


@pytest.fixture(scope="module")
def deploy(tmp_path_factory):
    """A first deploy on an empty PostgreSQL, exactly as the runbook says (with bad input)."""
    server = ThrowawayServer()
    try:
        deploy = Deploy(checkout_copy(tmp_path_factory.mktemp("checkout")), server.start())
        yield deploy
    finally:
        server.stop()


class Client:
    """A minimal HTTP client that keeps its cookies (the portal's are Secure; this is HTTP)."""

    def __init__(self, port):
        self.port, self.cookies = port, {}

    def request(self, method, path, form=None, timeout=10):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
        connection.close()
        return response.status, text

    def sign_in(self, username, password):
        status, page = self.request("GET", "/accounts/login/")
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
        status, _ = self.request("POST", "/accounts/login/", form)
        assert status == 302, "sign-in failed"


def wait_for_port(port, process, log):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not listen:\n{log.read_text()}")


@pytest.mark.postgres
def test_first_deploy_then_a_reviewed_migration_exactly_as_the_runbook_says(deploy, tmp_path):
    """Roles, bootstrap, reviews, migrate, static, gunicorn, a later migration, the audit."""
    refused(deploy.run("roles", DATABASE_ADMIN_URL=None), "Set DATABASE_ADMIN_URL")
    created = deploy.ok("roles", DATABASE_ADMIN_URL=deploy.admin_url)
    assert "created role proone_owner" in created.stdout
    # Run again (a rotated password, a step repeated): the same roles, altered.
    again = deploy.ok("roles", DATABASE_ADMIN_URL=deploy.admin_url)
    assert "altered role proone_owner" in again.stdout and "altered role proone_app" in again.stdout

    refused(deploy.run("bootstrap", SECRET_KEY=None), "Set SECRET_KEY")
    refused(deploy.run("bootstrap", GATE_SIGNING_KEY=None), "GATE_SIGNING_KEY is not set")
    refused(deploy.run("bootstrap", GATE_AUDIT_ANCHOR=None), "GATE_AUDIT_ANCHOR is not set")
    refused(deploy.run("bootstrap", DATABASE_MIGRATE_URL=None), "Set DATABASE_MIGRATE_URL")
    bootstrapped = deploy.ok("bootstrap")
    # The database by its name, and the owner's connection (`migrate`) it was reached by.
    assert "Bootstrapped the database 'proone' (alias 'migrate')" in bootstrapped.stdout
    # The gate's scope never touched the app's connection: no principal, no traceback.
    assert "Traceback" not in bootstrapped.stderr
    assert "INFO proone.scoping unscoped access: migration gate bootstrap" in bootstrapped.stderr
    assert deploy.admin("SELECT count(*) FROM proone_rls.signing_key") == [(1,)]
    assert deploy.admin("SELECT to_regprocedure('proone_enter(text)') IS NOT NULL") == [(True,)]
    refused(deploy.run("bootstrap"), "already bootstrapped", "migrate_secure --plan")

    unreviewed = deploy.run("migrate")
    assert unreviewed.returncode == 1 and "REFUSED: nothing was applied" in unreviewed.stderr
    assert "manage.py signoff_packages --reviewer USERNAME" in unreviewed.stderr

    reviewer = deploy.ok("reviewer", "--noinput", DJANGO_SUPERUSER_PASSWORD=REVIEWER_PASSWORD)
    assert "python manage.py migrate'" not in reviewer.stdout
    assert "apply them with `manage.py migrate_secure`" in reviewer.stdout

    refused(
        deploy.run(
            "packages", "--password-stdin", "--acknowledge-findings", stdin="not-the-password\n"
        ),
        "Wrong password for reviewer 'rita'",
    )
    # Findings are refused before the password is asked.
    refused(deploy.run("packages", stdin=""), "--acknowledge-findings")
    review = deploy.ok(
        "packages",
        "--password-stdin",
        "--acknowledge-findings",
        stdin=REVIEWER_PASSWORD + "\n",
    )
    for release in ("django-guardian==", "django-axes=="):
        assert release in review.stdout
    assert "axes.0005_remove_accessattempt_trusted" in review.stdout
    # Bootstrap applied the package migrations whose tables carry the database layer's
    # policies (sessions, admin, guardian's first), each audited as applied unsigned.
    assert "sessions.0001_initial" not in review.stdout
    assert deploy.admin(
        "SELECT count(*) FROM gate_auditentry WHERE event = 'bootstrap' "
        "AND app_label || '.' || migration_name = 'sessions.0001_initial'"
    ) == [(1,)]
    # Indexes and unique constraints on tables the same plan creates lock nothing: only
    # guardian's index on the table bootstrap already created is flagged.
    flagged = [line for line in review.stdout.splitlines() if re.search(r"MG10[78]", line)]
    assert flagged and all("guardian." in line for line in flagged), review.stdout

    # The project's own migrations after the bootstrap, in one review with one password.
    pending = pending_project_migrations(deploy.ok("plan").stdout)
    assert pending
    release = ("release", "--password-stdin", "--acknowledge-findings")
    refused(deploy.run(*release, stdin="not-the-password\n"), "Wrong password for reviewer")
    refused(deploy.run("release", stdin=""), "--acknowledge-findings")
    reviewed = deploy.ok(*release, stdin=REVIEWER_PASSWORD + "\n")
    # Exactly the pending ones the plan listed: the packages' were reviewed by their own step.
    assert f"This release has {len(pending)} migrations to sign off" in reviewed.stdout
    for label in pending:
        assert f"{label}: sign-off #" in reviewed.stdout
    plan = deploy.ok("plan")
    # The sign-off column, not squawk's rule names (squawk:constraint-missing-not-valid).
    assert not re.search(r" apply +(missing|void)", plan.stdout), plan.stdout
    assert "Applied" in deploy.ok("migrate").stdout
    checked = deploy.ok("check")
    assert "gate.W005" not in checked.stdout + checked.stderr  # the app's check holds no key
    deploy.ok("static")
    assert (deploy.checkout / "staticfiles" / "proone" / "portal.css").exists()

    # Demo data for the pages below (seed_demo refuses with DEBUG off, so it runs with it on).
    seeded = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "seed_demo"],
        cwd=deploy.checkout,
        env={**deploy.env, "DEBUG": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr

    port = free_port()
    log = tmp_path / "gunicorn.stderr"
    with log.open("w") as stderr:
        # `make serve`: check --deploy, collectstatic, then the runbook's serve step.
        server = subprocess.Popen(  # noqa: S603
            ["make", "--no-print-directory", "serve"],  # noqa: S607
            cwd=deploy.checkout,
            # One worker process: idle connections must not be absorbed by spare processes.
            env={**deploy.env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        wait_for_port(port, server, log)
        serving(deploy, Client(port), port, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    later_migration(deploy)
    assert "Audit log chain intact" in deploy.ok("verify").stdout
    anchor = Path(deploy.env["GATE_AUDIT_ANCHOR"]).read_text().splitlines()
    ((newest,),) = deploy.admin("SELECT max(id) FROM gate_auditentry")
    assert f" seq={newest} " in anchor[-1]


def serving(deploy, client, port, log):
    """The portal with DEBUG off: static files, a subcontractor's list, idle clients, a 500."""
    status, css = client.request("GET", "/static/proone/portal.css")
    assert status == 200 and css

    client.sign_in("sam-sparks", "proone-demo")
    status, page = client.request("GET", "/jobs/")
    assert status == 200
    divisions = set(re.findall(r'<td data-label="Division">([^<]*)</td>', page))
    assert divisions and divisions <= {"Sparks Subcontracting", "Electrical", "Plumbing"}
    assert "Head Office" not in page and "Field Crew" not in page

    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        started = time.monotonic()
        status, _ = client.request("GET", "/jobs/", timeout=30)
        elapsed = time.monotonic() - started
    finally:
        for sock in idle:
            sock.close()
    assert status == 200
    assert elapsed < 1.0, f"three idle connections delayed a request by {elapsed:.1f}s"

    # A fault the view does not handle: the app role loses SELECT on the jobs table.
    deploy.admin("REVOKE SELECT ON jobs_job FROM proone_app")
    try:
        status, page = client.request("GET", "/jobs/")
    finally:
        deploy.admin("GRANT SELECT ON jobs_job TO proone_app")
    assert status == 500
    assert "Traceback" not in page
    # The worker's stderr is line-buffered: wait for the traceback's last line to reach the file.
    deadline = time.monotonic() + 10
    while "permission denied for table jobs_job" not in log.read_text():
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    written = log.read_text()
    assert "ERROR django.request Internal Server Error: /jobs/" in written
    assert "Traceback (most recent call last)" in written
    assert "permission denied for table jobs_job" in written


def later_migration(deploy):
    """A new committed migration: refused unsigned, released by a non-author, voided by an edit."""
    path = deploy.checkout / "jobs" / "migrations" / f"{LATER}.py"
    path.write_text(NEW_MIGRATION)
    git(deploy.checkout, "add", str(path))
    git(deploy.checkout, "commit", "-q", "-m", "comment the jobs table", author=DEVELOPER)

    unsigned = deploy.run("migrate")
    assert unsigned.returncode == 1
    assert f"jobs.{LATER}: no sign-off" in unsigned.stderr

    assert pending_project_migrations(deploy.ok("plan").stdout) == [f"jobs.{LATER}"]
    release = ("release", "--password-stdin", "--acknowledge-findings")
    signed = deploy.ok(*release, stdin=REVIEWER_PASSWORD + "\n")
    assert "This release has 1 migration to sign off" in signed.stdout
    assert "author Proone Developer <dev@proone.example>" in signed.stdout
    assert "Nothing to sign off" in deploy.ok(*release, stdin=REVIEWER_PASSWORD + "\n").stdout

    path.write_text(NEW_MIGRATION.replace("row-level security", "RLS"))
    git(deploy.checkout, "commit", "-q", "-am", "reword the comment", author=DEVELOPER)
    changed = deploy.run("migrate")
    assert changed.returncode == 1
    assert "the sign-off by rita is void because the file changed" in changed.stderr
    assert deploy.admin("SELECT obj_description('jobs_job'::regclass)") == [(None,)]

    # One migration again: the runbook's signoff step signs it alone.
    args = ("jobs", LATER, "--password-stdin", "--acknowledge-findings")
    deploy.ok("signoff", *args, stdin=REVIEWER_PASSWORD + "\n")
    assert f"jobs.{LATER}" in deploy.ok("migrate").stdout
    assert deploy.admin("SELECT obj_description('jobs_job'::regclass)") == [
        ("Jobs of every tenant (RLS)",)
    ]


def test_runbook_is_what_the_deploy_doc_shows():
    """docs/deploy.md quotes the runbook script verbatim, so the tested text is the read text."""
    script = (REPO / RUNBOOK).read_text()
    doc = (REPO / "docs" / "deploy.md").read_text()
    assert f"```sh\n{script}```" in doc
