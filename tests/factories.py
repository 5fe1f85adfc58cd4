"""factory-boy factories: realistic worlds, always built as unscoped system work."""

import factory
from django.utils import timezone

from divisions.grants import tenant_admin_group
from divisions.models import Division, Tenant, User
from divisions.scoping import unscoped
from jobs.models import Job


class UnscopedFactory(factory.django.DjangoModelFactory):
    """Creates rows as system work, whatever scope the test is in."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with unscoped("test factory"):
            return super()._create(model_class, *args, **kwargs)


class TenantFactory(UnscopedFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class DivisionFactory(UnscopedFactory):
    class Meta:
        model = Division

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Division {n}")


class UserFactory(UnscopedFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    tenant = factory.LazyAttribute(lambda o: o.division.tenant if o.division else None)
    division = factory.SubFactory(DivisionFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            with unscoped("test factory"):
                obj.save()


class TenantAdminFactory(UserFactory):
    division = None
    tenant = factory.SubFactory(TenantFactory)
    is_tenant_admin = True
    is_staff = True

    @factory.post_generation
    def _admin_permissions(obj, create, extracted, **kwargs):
        if create:
            with unscoped("test factory"):
                obj.groups.add(tenant_admin_group())


class JobFactory(UnscopedFactory):
    class Meta:
        model = Job

    division = factory.SubFactory(DivisionFactory)
    tenant = factory.LazyAttribute(lambda o: o.division.tenant)
    title = factory.Sequence(lambda n: f"Job {n}")
    status = Job.Status.OPEN
    created_at = factory.LazyFunction(timezone.now)


def allow(target, *viewers, everyone=None):
    """Let `viewers` (divisions) see `target`'s jobs; optionally switch is_everyone."""
    with unscoped("test world"):
        scope = target.data_scope
        if everyone is not None:
            scope.is_everyone = everyone
            scope.save()
        scope.set_divisions([*scope.divisions.all(), *viewers])
    return scope
