"""
Managers that filter for the acting principal and refuse to run when no scope is active.

Generic, like Django's CurrentSiteManager(field_name) and django-scopes'
ScopedManager(tenant="tenant"): a model names the field that holds its tenant, and its rows
are those of the principal's tenant. A model with a finer rule (Job) overrides scope_filter
with the rule from divisions/visibility/rule.py, which sits above this module.

A manager scopes the queries that start from its model. A join that starts elsewhere and
reaches a scoped model (Division.objects.filter(jobs__title=...)) does not pass through that
manager; ScopedForeignKey carries the same scope into such joins.
"""

import functools
from contextlib import nullcontext

from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.expressions import Col, Expression
from django.db.models.fields.related import ManyToOneRel

from . import rls
from .scoping import (
    OutOfScope,
    Scope,
    ScopeError,
    current_scope,
    is_principal,
    is_tenant_admin,
    within,
)

NOTHING = Q(pk__in=[])


def _same(one, other):
    """True when two scopes act for the same principal (the database principal is the same)."""
    if one.is_unscoped or other.is_unscoped:
        return False
    pk = getattr(one.principal, "pk", None)
    return pk is not None and pk == getattr(other.principal, "pk", None)


def _evaluated_in_scope(method):
    """A QuerySet method that refuses with no scope, and on PostgreSQL runs in the scope the
    queryset was made in (see ScopedQuerySet._database_scope)."""

    @functools.wraps(method)
    def evaluate(self, *args, **kwargs):
        self._refuse_if_unscoped()
        with self._database_scope():
            return method(self, *args, **kwargs)

    # A scoped manager offers delete() too: Job.objects.delete() deletes the visible rows only.
    evaluate.__dict__.pop("queryset_only", None)
    return evaluate


class ScopedQuerySet(models.QuerySet):
    """A queryset made under a scope; one made with none raises ScopeError when evaluated."""

    _scope_missing = False
    _made_under = None
    _made_for_named_principal = False

    def _clone(self):
        clone = super()._clone()
        clone._scope_missing = self._scope_missing
        clone._made_under = self._made_under
        clone._made_for_named_principal = self._made_for_named_principal
        return clone

    def _refuse_if_unscoped(self):
        if self._scope_missing:
            raise ScopeError(
                f"{self.model._meta.label} was queried with no active scope: run the code "
                "inside acting_as(user) or unscoped(reason)."
            )

    def _database_scope(self):
        """On PostgreSQL, re-enter the scope this queryset was made in (or the principal named
        in visible_to), so that row-level security and the ORM filter act for the same
        principal even when it is evaluated after that scope ended. Else nothing to do."""
        scope = self._made_under
        if scope is None or self.db != DEFAULT_DB_ALIAS or not rls.enforced():
            return nullcontext()
        current = current_scope()
        if current is not None and (not self._made_for_named_principal or _same(current, scope)):
            return nullcontext()
        return within(scope)

    # Every way Django turns a queryset into SQL passes through one of these.
    _fetch_all = _evaluated_in_scope(models.QuerySet._fetch_all)
    count = _evaluated_in_scope(models.QuerySet.count)
    exists = _evaluated_in_scope(models.QuerySet.exists)
    contains = _evaluated_in_scope(models.QuerySet.contains)
    aggregate = _evaluated_in_scope(models.QuerySet.aggregate)
    in_bulk = _evaluated_in_scope(models.QuerySet.in_bulk)
    explain = _evaluated_in_scope(models.QuerySet.explain)

    # Writes reach only the rows the principal may write (the manager's write_filter), in the
    # same statement.
    def update(self, **kwargs):
        columns = {self.model._meta.get_field(name).attname: v for name, v in kwargs.items()}
        return self._writable(columns)._written(models.QuerySet.update, **kwargs)

    update.alters_data = True

    def _update(self, values):
        columns = {field.attname: value for field, _, value in values}
        return self._writable(columns)._written(models.QuerySet._update, values)

    def delete(self):
        return self._writable(None)._written(models.QuerySet.delete)

    delete.alters_data = True

    def _raw_delete(self, using):
        return self._writable(None)._written(models.QuerySet._raw_delete, using)

    def _written(self, write, *args, **kwargs):
        """Run `write`, a QuerySet method, in the scope this queryset was made in."""
        with self._database_scope():
            return write(self, *args, **kwargs)

    def _writable(self, values):
        """This queryset narrowed to the rows its principal may update with `values`
        ({attname: value}), or delete when None."""
        self._refuse_if_unscoped()
        scope = self._made_under
        if scope is None or scope.is_unscoped:
            return self
        rule = self.model._default_manager.write_filter(scope.principal, values)
        return self if rule is None else self.filter(rule)

    def refusal(self, pk, values=None):
        """Why the principal may not update row `pk` with `values` (delete it when None): the
        model's DoesNotExist when it does not see the row, OutOfScope when it sees the row but
        may not write it; None when it may. One statement."""
        self._refuse_if_unscoped()
        rows = self.filter(pk=pk)
        scope = self._made_under
        try:
            rule = None
            if not scope.is_unscoped:
                rule = self.model._default_manager.write_filter(scope.principal, values)
        except OutOfScope as refused:
            return refused if rows.exists() else self.model.DoesNotExist()
        if rule is None or rule is NOTHING:
            writable = [rule is None] if rows.exists() else []
        else:
            writable = rows.annotate(
                _writable=ExpressionWrapper(rule, output_field=BooleanField())
            ).values_list("_writable", flat=True)[:1]
        if not writable:
            return self.model.DoesNotExist(f"No {self.model._meta.object_name} matches.")
        if not writable[0]:
            return OutOfScope(f"You may not change this {self.model._meta.verbose_name}.")
        return None

    def _iterator(self, use_chunked_fetch, chunk_size):
        self._refuse_if_unscoped()
        with self._database_scope():
            yield from super()._iterator(use_chunked_fetch, chunk_size)

    async def aiterator(self, chunk_size=2000):
        self._refuse_if_unscoped()
        async for item in super().aiterator(chunk_size):
            yield item

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
    """Default and base manager of a tenant-owned model: the acting principal's tenant only.

    `tenant` names the field holding a row's tenant; the Tenant model itself passes "pk".
    """

    def __init__(self, tenant="tenant"):
        super().__init__()
        self.tenant_field = tenant

    def scope_filter(self, principal):
        """The Q that limits this model for `principal`: the rows of their tenant, or none."""
        if not is_principal(principal):
            return NOTHING
        return Q(**{self.tenant_field: principal.tenant_id})

    def write_filter(self, principal, values):
        """The Q that limits an update with `values` ({attname: value}), or a delete when
        None, beyond what `principal` sees; None when seeing a row is writing it (the admin's
        models, whose writes the admin's permissions decide)."""
        return None

    def get_queryset(self):
        queryset = super().get_queryset()
        scope = current_scope()
        if scope is None:
            queryset._scope_missing = True
            return queryset
        queryset._made_under = scope
        if scope.is_unscoped:
            return queryset
        return queryset.filter(self.scope_filter(scope.principal))

    def visible_to(self, principal):
        """The rows `principal` may see, whatever scope is active (or none)."""
        queryset = super().get_queryset().filter(self.scope_filter(principal))
        queryset._made_under = Scope(principal=principal)
        queryset._made_for_named_principal = True
        return queryset


class RecordQuerySet(ScopedQuerySet):
    """A scoped queryset of records that only the database or system work writes."""

    def bulk_create(self, objs, *args, **kwargs):
        scope = self._made_under
        if scope is not None and not scope.is_unscoped:
            raise OutOfScope(f"{self.model._meta.verbose_name_plural} are recorded, not created.")
        return super().bulk_create(objs, *args, **kwargs)


class RecordManager(ScopedManager):
    """The manager of a record the database writes (a history): under a principal, the ORM
    creates, updates and deletes none of its rows, as the database's policies allow none."""

    _queryset_class = RecordQuerySet

    def write_filter(self, principal, values):
        return NOTHING


class AdminRecordManager(RecordManager):
    """The manager of a record only the tenant's admins read (an access review, which counts
    every division's jobs): as the database's read policy."""

    def scope_filter(self, principal):
        if not is_tenant_admin(principal):
            return NOTHING
        return super().scope_filter(principal)


class _VisibleRows(Expression):
    """A join condition: the row at `alias` is one its model's default manager returns now.

    Built when the SQL is compiled, inside the scope that evaluates the query, as
    `alias.id IN (SELECT id FROM <table> WHERE <the manager's filter>)`: the manager's own
    filter, not a copy of it.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, model, alias):
        super().__init__()
        self.model = model
        self.alias = alias

    def relabeled_clone(self, change_map):
        return _VisibleRows(self.model, change_map.get(self.alias, self.alias))

    def get_group_by_cols(self):
        return []

    def as_sql(self, compiler, connection):
        rows = self.model._default_manager.get_queryset()
        rows._refuse_if_unscoped()
        # Compiled on its own: a self-contained statement that refers to nothing outside it,
        # whatever aliases the query around it uses.
        inner, params = rows.order_by().values("pk").query.get_compiler(connection.alias).as_sql()
        column, column_params = compiler.compile(Col(self.alias, self.model._meta.pk))
        return f"{column} IN ({inner})", (*column_params, *params)


def _visible_rows(model, alias):
    """The join condition for `alias`, a table of `model`; none for unscoped work."""
    scope = current_scope()
    if scope is not None and scope.is_unscoped:
        return None
    return _VisibleRows(model, alias)


class _ScopedReverseRel(ManyToOneRel):
    """The reverse side of a ScopedForeignKey: joins into the holder keep visible rows only."""

    def get_extra_restriction(self, alias, related_alias):
        # Django passes the joined table (the holder) first.
        return _visible_rows(self.related_model, alias)


class ScopedForeignKey(models.ForeignKey):
    """A ForeignKey whose reverse joins (target → rows of this model) are scoped by this
    model's default manager, like every query that starts from this model.

    Division.objects.filter(jobs__title="x") then matches only divisions with a *visible*
    job titled "x", on SQLite as on PostgreSQL. The column is a plain foreign key: migrations
    see a models.ForeignKey.
    """

    rel_class = _ScopedReverseRel

    def get_extra_restriction(self, alias, related_alias):
        # A join from the holder to the target needs nothing: the holder's rows are scoped by
        # the query that reached them. An exclude() pushed into a subquery starts at the holder
        # and calls this with no target alias (django.db.models.sql.Query.trim_start).
        if alias is None:
            return _visible_rows(self.model, related_alias)
        return None

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.ForeignKey", args, kwargs
