"""Managers that filter for the acting user and refuse to run when no scope is active."""

import functools

from django.db import DEFAULT_DB_ALIAS, models

from .scoping import Scope, ScopeError, current_scope, within


def _in_the_scope_it_was_made_in(method):
    """On PostgreSQL, evaluate a queryset with the database principal of the scope that made
    it (or of the user named in visible_to), so that row-level security and the ORM filter
    act for the same user even when it is evaluated after that scope ended."""

    @functools.wraps(method)
    def evaluate(self, *args, **kwargs):
        scope = self._scope_to_enter()
        if scope is None:
            return method(self, *args, **kwargs)
        with within(scope):
            return method(self, *args, **kwargs)

    return evaluate


def _same(one, other):
    """True when two scopes act for the same user (the database principal is the same)."""
    if one.is_unscoped or other.is_unscoped:
        return False
    pk = getattr(one.user, "pk", None)
    return pk is not None and pk == getattr(other.user, "pk", None)


def _database_enforces():
    from .rls import enforced

    return enforced()


class ScopedQuerySet(models.QuerySet):
    """A queryset made under a scope; one made with none raises ScopeError when evaluated."""

    _scope_missing = False
    _made_under = None
    _made_for_named_user = False

    def _clone(self):
        clone = super()._clone()
        clone._scope_missing = self._scope_missing
        clone._made_under = self._made_under
        clone._made_for_named_user = self._made_for_named_user
        return clone

    def _scope_to_enter(self):
        """The scope to evaluate in on PostgreSQL, or None to evaluate as things are."""
        scope = self._made_under
        if scope is None or self.db != DEFAULT_DB_ALIAS or not _database_enforces():
            return None
        current = current_scope()
        if current is not None and (not self._made_for_named_user or _same(current, scope)):
            return None
        return scope

    def _refuse_if_unscoped(self):
        if self._scope_missing:
            raise ScopeError(
                f"{self.model._meta.label} was queried with no active scope: run the code "
                "inside acting_as(user) or unscoped(reason)."
            )

    # Every way Django turns a queryset into SQL passes through one of these.
    @_in_the_scope_it_was_made_in
    def _fetch_all(self):
        self._refuse_if_unscoped()
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch, chunk_size):
        self._refuse_if_unscoped()
        scope = self._scope_to_enter()
        if scope is None:
            yield from super()._iterator(use_chunked_fetch, chunk_size)
            return
        with within(scope):
            yield from super()._iterator(use_chunked_fetch, chunk_size)

    async def aiterator(self, chunk_size=2000):
        self._refuse_if_unscoped()
        async for item in super().aiterator(chunk_size):
            yield item

    @_in_the_scope_it_was_made_in
    def count(self):
        self._refuse_if_unscoped()
        return super().count()

    @_in_the_scope_it_was_made_in
    def exists(self):
        self._refuse_if_unscoped()
        return super().exists()

    @_in_the_scope_it_was_made_in
    def contains(self, obj):
        self._refuse_if_unscoped()
        return super().contains(obj)

    @_in_the_scope_it_was_made_in
    def aggregate(self, *args, **kwargs):
        self._refuse_if_unscoped()
        return super().aggregate(*args, **kwargs)

    @_in_the_scope_it_was_made_in
    def in_bulk(self, *args, **kwargs):
        self._refuse_if_unscoped()
        return super().in_bulk(*args, **kwargs)

    @_in_the_scope_it_was_made_in
    def update(self, **kwargs):
        self._refuse_if_unscoped()
        return super().update(**kwargs)

    @_in_the_scope_it_was_made_in
    def _update(self, values):
        self._refuse_if_unscoped()
        return super()._update(values)

    @_in_the_scope_it_was_made_in
    def delete(self):
        self._refuse_if_unscoped()
        return super().delete()

    @_in_the_scope_it_was_made_in
    def _raw_delete(self, using):
        self._refuse_if_unscoped()
        return super()._raw_delete(using)

    @_in_the_scope_it_was_made_in
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
        queryset._made_under = scope
        if scope.is_unscoped:
            return queryset
        return queryset.filter(self.scope_filter(scope.user))

    def visible_to(self, user):
        """The rows `user` may see, whatever scope is active (or none)."""
        queryset = super().get_queryset().filter(self.scope_filter(user))
        queryset._made_under = Scope(user=user)
        queryset._made_for_named_user = True
        return queryset


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
