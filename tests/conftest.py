"""Shared fixtures: a world of two tenants and several divisions, so every test is also a
cross-tenant and cross-division negative test."""

import os
import secrets
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from divisions.scoping import unscoped

from .factories import (
    DivisionFactory,
    JobFactory,
    TenantAdminFactory,
    TenantFactory,
    UserFactory,
    allow,
)

# The migration gate's key, new for every run and never written down; the gate's subprocesses
# inherit it from this environment, as a reviewer's shell would hold it.
os.environ.setdefault("GATE_SIGNING_KEY", secrets.token_hex(32))

# --- PostgreSQL pass (make test runs the suite on SQLite, then on PostgreSQL) ---------------
ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]
if ON_POSTGRES:
    from .pg_setup import django_db_setup  # noqa: F401  (migrated by the owner role)


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres need row-level security: skipped, and said so, on SQLite."""
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: runs in the PostgreSQL pass of make test")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    """Two tenants. Acme: hq (private), electrical (lists hq and sparks), plumbing (everyone),
    sparks (a subcontractor, private). Globex: ops (private), field (everyone)."""
    acme, globex = (
        TenantFactory(name="Acme", slug="acme"),
        TenantFactory(name="Globex", slug="globex"),
    )
    d = SimpleNamespace()
    d.hq = DivisionFactory(tenant=acme, name="Head Office")
    d.electrical = DivisionFactory(tenant=acme, name="Electrical")
    d.plumbing = DivisionFactory(tenant=acme, name="Plumbing")
    d.sparks = DivisionFactory(tenant=acme, name="Sparks")
    d.ops = DivisionFactory(tenant=globex, name="Ops")
    d.field = DivisionFactory(tenant=globex, name="Field")
    allow(d.electrical, d.hq, d.sparks)
    allow(d.plumbing, everyone=True)
    allow(d.field, everyone=True)
    jobs = SimpleNamespace(
        **{
            name: JobFactory(division=division, title=f"{division.name} job")
            for name, division in vars(d).items()
        }
    )
    jobs.acme_unassigned = JobFactory(division=None, tenant=acme, title="Acme unassigned")
    jobs.globex_unassigned = JobFactory(division=None, tenant=globex, title="Globex unassigned")
    u = SimpleNamespace(
        acme_admin=TenantAdminFactory(tenant=acme, username="acme-admin"),
        globex_admin=TenantAdminFactory(tenant=globex, username="globex-admin"),
        alice=UserFactory(division=d.hq, username="alice"),
        sam=UserFactory(division=d.sparks, username="sam"),
        elle=UserFactory(division=d.electrical, username="elle"),
        nodiv=UserFactory(division=None, tenant=acme, username="nodiv"),
        gina=UserFactory(division=d.field, username="gina"),
        inactive=UserFactory(division=d.hq, username="inactive", is_active=False),
        staff_only=UserFactory(division=d.sparks, username="staff", is_staff=True),
        operator=UserFactory(
            division=None, tenant=None, username="operator", is_staff=True, is_superuser=True
        ),
        anonymous=AnonymousUser(),
    )
    return SimpleNamespace(tenants=SimpleNamespace(acme=acme, globex=globex), d=d, jobs=jobs, u=u)


@pytest.fixture
def admin_user(db, django_user_model, django_username_field):
    """pytest-django's superuser, created as system work (the user table is under RLS)."""
    with unscoped("test setup"):
        return django_user_model.objects.create_superuser(
            **{django_username_field: "admin"}, email="admin@example.com", password="password"
        )


@pytest.fixture
def system():
    """Run the test body as unscoped system work."""
    with unscoped("test setup"):
        yield
