"""The divisions a user may pick in a filter: those whose jobs they may see."""

from ..models import Division
from ..scoping import is_principal, is_tenant_admin
from .loaded_divisions import loaded_divisions
from .visible_divisions import divisions_with_visible_jobs


def division_choices(user):
    """The divisions whose jobs `user` may see, as (id, name) pairs by name: the choices of a
    division filter. A member's come with their user row when it brought them."""
    if is_principal(user) and not is_tenant_admin(user):
        brought = loaded_divisions(user)
        if brought is not None:
            return list(brought)
    divisions = Division.objects.visible_to(user).filter(pk__in=divisions_with_visible_jobs(user))
    return list(divisions.values_list("pk", "name"))
