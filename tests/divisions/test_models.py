"""The organisation model: every division has one scope; nothing points across tenants."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings

from divisions.models import DataScope, DataScopeDivision, Division, Tenant, User
from divisions.scoping import OutOfScope, acting_as, unscoped
from jobs.models import Job


class TestDataScope:
    def test_division_is_born_with_a_private_scope(self, world, system):
        division = Division.objects.create(tenant=world.tenants.acme, name="New")
        scope = division.data_scope
        assert scope.tenant_id == world.tenants.acme.pk
        assert scope.is_everyone is False
        assert list(scope.divisions.all()) == []
        assert scope.target_division == division

    def test_deleting_a_division_deletes_its_scope(self, world, system):
        division = Division.objects.create(tenant=world.tenants.acme, name="Short-lived")
        scope_id = division.data_scope_id
        division.delete()
        assert not DataScope.objects.filter(pk=scope_id).exists()

    def test_scope_cannot_list_another_tenants_division(self, world, system):
        scope = world.d.hq.data_scope
        with pytest.raises(ValidationError, match="own tenant"), transaction.atomic():
            scope.set_divisions([world.d.ops])
        with pytest.raises(ValidationError, match="own tenant"), transaction.atomic():
            world.d.ops.scopes_listing.add(scope, through_defaults={"tenant": world.tenants.globex})
        assert list(scope.divisions.all()) == []

    def test_membership_row_validates_tenant(self, world, system):
        row = DataScopeDivision(datascope=world.d.hq.data_scope, division=world.d.ops)
        with pytest.raises(ValidationError) as error:
            row.save()
        assert "same tenant" in str(error.value)
        row.tenant = None
        with pytest.raises(ValidationError):
            row.full_clean()

    def test_membership_row_takes_the_scope_tenant(self, world, system):
        row = DataScopeDivision.objects.create(
            datascope=world.d.hq.data_scope, division=world.d.sparks
        )
        assert row.tenant_id == world.tenants.acme.pk

    def test_division_names_are_unique_within_a_tenant_only(self, world, system):
        Division.objects.create(tenant=world.tenants.globex, name="Head Office")
        with pytest.raises(ValidationError):
            Division(tenant=world.tenants.acme, name="Head Office").validate_constraints()


class TestSameTenant:
    def test_user_division_in_other_tenant_rejected(self, world, system):
        user = User(username="x", tenant=world.tenants.acme, division=world.d.ops)
        with pytest.raises(ValidationError) as error:
            user.full_clean()
        assert "same tenant" in str(error.value.message_dict["division"])

    def test_user_with_division_but_no_tenant_rejected(self, world, system):
        user = User(username="x", tenant=None, division=world.d.hq)
        with pytest.raises(ValidationError, match="without a tenant"):
            user.full_clean()

    def test_job_division_in_other_tenant_rejected_by_clean_and_save(self, world, system):
        job = Job(tenant=world.tenants.acme, division=world.d.ops, title="x")
        with pytest.raises(ValidationError):
            job.full_clean()
        with pytest.raises(ValidationError):
            job.save()
        assert not Job.objects.filter(title="x").exists()

    def test_rejected_even_when_the_foreign_division_is_out_of_scope(self, world):
        # The check reads the truth, so a foreign id cannot pass for a missing one.
        with acting_as(world.u.acme_admin):
            job = Job(tenant=world.tenants.acme, division_id=world.d.ops.pk, title="x")
            with pytest.raises(ValidationError):
                job.full_clean()

    def test_tenant_admin_cannot_create_rows_in_another_tenant(self, world):
        with acting_as(world.u.acme_admin), pytest.raises(OutOfScope):
            Division.objects.create(tenant=world.tenants.globex, name="Planted")


class TestOrganisationScoping:
    def test_divisions_and_scopes_limited_to_the_tenant(self, world):
        with acting_as(world.u.gina):
            assert set(Division.objects.values_list("name", flat=True)) == {"Ops", "Field"}
            assert DataScope.objects.count() == 2
            assert list(Tenant.objects.all()) == [world.tenants.globex]
        with acting_as(world.u.operator):
            assert Division.objects.count() == 0
            assert Tenant.objects.count() == 0
        with unscoped("count"):
            assert Division.objects.count() == 6

    def test_filter_choices_are_divisions_with_visible_jobs(self, world):
        with acting_as(world.u.sam):
            names = set(
                Division.objects.with_jobs_visible_to(world.u.sam).values_list("name", flat=True)
            )
        assert names == {"Sparks", "Electrical", "Plumbing"}


class TestSeedDemo:
    @override_settings(DEBUG=True)
    def test_builds_the_world_once(self, db, capsys):
        call_command("seed_demo")
        out = capsys.readouterr().out
        assert "sam-sparks" in out and "proone-demo" in out
        with unscoped("check"):
            counts = (Tenant.objects.count(), Division.objects.count(), Job.objects.count())
        call_command("seed_demo")
        assert "nothing changed" in capsys.readouterr().out
        with unscoped("check"):
            assert (Tenant.objects.count(), Division.objects.count(), Job.objects.count()) == counts
        assert counts[0] == 2 and counts[2] > 200

    @override_settings(DEBUG=True)
    def test_demo_logins_see_what_they_are_said_to(self, db):
        call_command("seed_demo")
        with unscoped("check"):
            sam = User.objects.get(username="sam-sparks")
            manager = User.objects.get(username="acme-manager")
        with acting_as(sam):
            names = set(Job.objects.values_list("division__name", flat=True))
        assert names == {"Sparks Subcontracting", "Electrical", "Plumbing"}
        with unscoped("check"):
            electrical = Division.objects.get(name="Electrical")
            assert manager.has_perm("divisions.change_datascope", electrical.data_scope)
            assert not manager.has_perm(
                "divisions.change_datascope", Division.objects.get(name="Plumbing").data_scope
            )

    @override_settings(DEBUG=False)
    def test_refuses_without_debug(self, db):
        with pytest.raises(CommandError, match="DEBUG"):
            call_command("seed_demo")

    @override_settings(DEBUG=True)
    def test_bad_size_is_a_clear_error(self, db):
        with pytest.raises(CommandError, match="0 or more"):
            call_command("seed_demo", "--jobs-per-division", "-1")
