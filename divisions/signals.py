"""Keeps the organisation consistent: a division's scope goes with it; scopes stay in-tenant;
a write to what the rule reads outdates the visible divisions users were loaded with."""

from django.contrib.auth import models as auth_models
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import DataScope, DataScopeDivision, Division, User
from .scoping import acting_as
from .visibility.loaded_divisions import rule_written


def update_last_login(sender, user, **kwargs):
    """Django's last_login update, as the user's own write: sign-in runs before a principal."""
    with acting_as(user):
        auth_models.update_last_login(sender, user, **kwargs)


@receiver(post_delete, sender=Division)
def delete_scope_with_division(sender, instance, **kwargs):
    QuerySet(DataScope).filter(pk=instance.data_scope_id).delete()


@receiver(m2m_changed, sender=DataScope.divisions.through)
def keep_scope_divisions_in_tenant(sender, instance, action, reverse, pk_set, **kwargs):
    if action != "pre_add" or not pk_set:
        return
    if reverse:
        # division.scopes_listing.add(scope, ...): every scope must be in the division's tenant.
        foreign = QuerySet(DataScope).filter(pk__in=pk_set).exclude(tenant_id=instance.tenant_id)
    else:
        foreign = QuerySet(Division).filter(pk__in=pk_set).exclude(tenant_id=instance.tenant_id)
    if foreign.exists():
        raise ValidationError("A data scope can only list divisions of its own tenant.")


@receiver(post_save, sender=Division)
@receiver(post_save, sender=DataScope)
@receiver(post_save, sender=DataScopeDivision)
@receiver(post_save, sender=User)
@receiver(post_delete, sender=Division)
@receiver(post_delete, sender=DataScope)
@receiver(post_delete, sender=DataScopeDivision)
@receiver(post_delete, sender=User)
@receiver(m2m_changed, sender=DataScope.divisions.through)
def rule_changed(sender, **kwargs):
    """Divisions users were loaded with before this write are not used again."""
    rule_written()
