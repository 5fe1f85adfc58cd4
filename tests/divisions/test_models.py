"""The organisation model: every division has one scope; nothing points across tenants."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from divisions.models import DataScope, DataScopeDivision, Division, Tenant, User
from divisions.scoping import OutOfScope, acting_as, unscoped
from divisions.visibility.choices import division_choices
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
            names = {name for _, name in division_choices(world.u.sam)}
        assert names == {"Sparks", "Electrical", "Plumbing"}
