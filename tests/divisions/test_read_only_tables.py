"""
SQL injection as the app role against the tables only migrations write: content types and
permissions (`divisions.dbroles.APP_READS_ONLY`; Django's migration recorder is the gate's
test, tests/gate/test_gate_inprocess.py).

Every admin-log entry and every object permission names its object by a content type, and a
division manager's grant is a permission row. An injection that rewrites those tables changes
what every tenant's entries and grants point at. What stops each attack: the app role holds
only SELECT on them (create_db_roles grants no more, and the gate takes back anything else
after every migration run); the owner's migrations write them.
"""

import pytest
from guardian.shortcuts import assign_perm

from divisions.scoping import acting_as, unscoped
from tests.divisions.test_rls_attacks import attempt, rows

pytestmark = pytest.mark.postgres

DENIED = "permission denied"

REPOINT = (
    "UPDATE django_content_type SET app_label = 'divisions', model = 'user' "
    "WHERE app_label = 'jobs' AND model = 'job'"
)


def job_content_type():
    with unscoped("test check"):
        return rows("SELECT id FROM django_content_type WHERE app_label = 'jobs' AND model = 'job'")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["sam", "acme_admin"])
def test_no_injection_repoints_entries_and_grants_at_another_model(world, who):
    """Attack: a member's or tenant admin's injection renames the job content type, so every
    tenant's log entries and object permissions on jobs name users instead."""
    before = job_content_type()
    with acting_as(getattr(world.u, who)):
        attempt(REPOINT, match=DENIED)
        attempt("DELETE FROM django_content_type WHERE app_label = 'jobs'", match=DENIED)
        attempt(
            "INSERT INTO django_content_type (app_label, model) VALUES ('jobs', 'planted')",
            match=DENIED,
        )
        attempt("SELECT nextval('django_content_type_id_seq')", match=DENIED)
    assert job_content_type() == before


@pytest.mark.django_db
def test_no_injection_turns_a_permission_into_another(world):
    """Attack: a division manager's injection renames its view permission on scopes into
    another codename, or plants and removes permission rows, which grants and groups link to."""
    with unscoped("test setup"):
        assign_perm("divisions.change_datascope", world.u.elle, world.d.electrical.data_scope)
    with acting_as(world.u.elle):
        attempt(
            "UPDATE auth_permission SET codename = 'delete_datascope' "
            "WHERE codename = 'view_datascope'",
            match=DENIED,
        )
        attempt(
            "INSERT INTO auth_permission (name, content_type_id, codename) "
            "SELECT 'planted', content_type_id, 'planted' FROM auth_permission LIMIT 1",
            match=DENIED,
        )
        attempt("DELETE FROM auth_permission WHERE codename = 'view_datascope'", match=DENIED)
        attempt("SELECT nextval('auth_permission_id_seq')", match=DENIED)


@pytest.mark.django_db
def test_the_app_role_still_reads_them(world):
    """The admin, guardian and the admin's log look content types and permissions up."""
    with acting_as(world.u.sam):
        [(types, permissions)] = rows(
            "SELECT (SELECT count(*) FROM django_content_type), "
            "(SELECT count(*) FROM auth_permission WHERE codename = 'change_datascope')"
        )
    assert types > 0 and permissions == 1
