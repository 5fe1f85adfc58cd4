"""Managers that filter for the acting user and refuse to run when no scope is active."""

from django.db import models

from .scoping import ScopeError, current_scope


class ScopedQuerySet(models.QuerySet):
    """A queryset made under a scope; one made with none raises ScopeError when evaluated."""

    _scope_missing = False

    def _clone(self):
        clone = super()._clone()
        clone._scope_missing = self._scope_missing
        return clone

    def _refuse_if_unscoped(self):
        if self._scope_missing:
            raise ScopeError(
                f"{self.model._meta.label} was queried with no active scope: run the code "
                "inside acting_as(user) or unscoped(reason)."
            )

    # Every way Django turns a queryset into SQL passes through one of these.
    def _fetch_all(self):
        self._refuse_if_unscoped()
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch, chunk_size):
        self._refuse_if_unscoped()
        yield from super()._iterator(use_chunked_fetch, chunk_size)

    async def aiterator(self, chunk_size=2000):
        self._refuse_if_unscoped()
        async for item in super().aiterator(chunk_size):
            yield item

    def count(self):
        self._refuse_if_unscoped()
        return super().count()

    def exists(self):
        self._refuse_if_unscoped()
        return super().exists()

    def contains(self, obj):
        self._refuse_if_unscoped()
        return super().contains(obj)

    def aggregate(self, *args, **kwargs):
        self._refuse_if_unscoped()
        return super().aggregate(*args, **kwargs)

    def in_bulk(self, *args, **kwargs):
        self._refuse_if_unscoped()
        return super().in_bulk(*args, **kwargs)

    def update(self, **kwargs):
        self._refuse_if_unscoped()
        return super().update(**kwargs)

    def _update(self, values):
        self._refuse_if_unscoped()
        return super()._update(values)

    def delete(self):
        self._refuse_if_unscoped()
        return super().delete()

    def _raw_delete(self, using):
        self._refuse_if_unscoped()
        return super()._raw_delete(using)

    def explain(self, *args, **kwargs):
        self._refuse_if_unscoped()
        return super().explain(*args, **kwargs)

    def resolve_expression(self, *args, **kwargs):
        self._refuse_if_unscoped()
        return super().resolve_expression(*args, **kwargs)

    def raw(self, *args, **kwargs):
        scope = current_scope()
        if scope is None or not scope.is_unscoped:
            raise ScopeError(
                f"{self.model._meta.label}.objects.raw() bypasses the ORM scope; "
                "use it only inside unscoped(reason)."
            )
        return super().raw(*args, **kwargs)


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):
    """Default and base manager of a scoped model: rows the acting user may see."""

    def scope_filter(self, user):
        """The Q that limits this model for `user`; each scoped model's manager states it."""
        raise NotImplementedError

    def get_queryset(self):
        queryset = super().get_queryset()
        scope = current_scope()
        if scope is None:
            queryset._scope_missing = True
            return queryset
        if scope.is_unscoped:
            return queryset
        return queryset.filter(self.scope_filter(scope.user))

    def visible_to(self, user):
        """The rows `user` may see, whatever scope is active (or none)."""
        return super().get_queryset().filter(self.scope_filter(user))


class TenantScopedManager(ScopedManager):
    """Scoped manager for organisation tables: the acting user's tenant only."""

    def scope_filter(self, user):
        from .visibility import tenant_filter

        return tenant_filter(user)


class DivisionManager(TenantScopedManager):
    """Divisions of the acting user's tenant; also those whose jobs a user may see."""

    def with_jobs_visible_to(self, user):
        """The divisions whose jobs `user` may see: the choices of a division filter."""
        from .visibility import divisions_with_visible_jobs

        return self.visible_to(user).filter(pk__in=divisions_with_visible_jobs(user))
