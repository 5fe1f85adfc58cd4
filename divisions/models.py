"""Tenants, their divisions, each division's DataScope, and users."""

import contextvars

from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet

from .managers import AdminRecordManager, RecordManager, ScopedManager
from .scoping import (
    OutOfScope,
    acting_as,
    acting_principal,
    current_scope,
    is_tenant_admin,
    looking_up,
)


def check_tenant_write(obj):
    """Refuse to write or delete a tenant-owned row outside the principal's tenant."""
    principal = acting_principal()
    if principal is not None and obj.tenant_id != getattr(principal, "tenant_id", None):
        raise OutOfScope(f"This {obj._meta.verbose_name} belongs to another tenant.")


class Tenant(models.Model):
    """A customer of the portal; every other row belongs to exactly one tenant."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)

    objects = ScopedManager(tenant="pk")

    class Meta:
        base_manager_name = "objects"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def delete(self, *args, **kwargs):
        # Deleting a tenant is platform work: it must see every row it cascades to.
        if acting_principal() is not None:
            raise OutOfScope("Tenants are deleted only as unscoped platform work.")
        return super().delete(*args, **kwargs)


class DataScope(models.Model):
    """Who may see one division's jobs: everyone in the tenant, or the listed divisions."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    is_everyone = models.BooleanField(
        "everyone in the tenant",
        default=False,
        help_text="Every user of this tenant sees this division's jobs; the list below is "
        "then not needed.",
    )
    divisions = models.ManyToManyField(
        "Division",
        through="DataScopeDivision",
        related_name="scopes_listing",
        blank=True,
        help_text="Members of these divisions see this division's jobs. The division's own "
        "members always do.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        base_manager_name = "objects"
        verbose_name = "data scope"

    def __str__(self):
        try:
            return f"Who sees {self.target_division}"
        except Division.DoesNotExist:
            return f"Data scope {self.pk}"

    def save(self, *args, **kwargs):
        check_tenant_write(self)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        check_tenant_write(self)
        return super().delete(*args, **kwargs)

    def set_divisions(self, divisions):
        """Make exactly `divisions` (same tenant) see the target division's jobs."""
        self.divisions.set(divisions, through_defaults={"tenant_id": self.tenant_id})

    def snapshot(self):
        """The scope's meaning as plain data, for its change history."""
        names = QuerySet(Division).filter(scopes_listing=self).values_list("name", flat=True)
        return {"is_everyone": self.is_everyone, "divisions": sorted(names)}


class DataScopeDivision(models.Model):
    """One division listed in a DataScope; carries the tenant so the database can check it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    datascope = models.ForeignKey(DataScope, on_delete=models.CASCADE)
    division = models.ForeignKey("Division", on_delete=models.CASCADE)

    class Meta:
        verbose_name = "division in a data scope"
        constraints = [
            models.UniqueConstraint(
                fields=["datascope", "division"], name="datascope_division_once"
            ),
        ]

    def __str__(self):
        return f"{self.division} in {self.datascope}"

    def save(self, *args, **kwargs):
        if self.tenant_id is None and self.datascope_id is not None:
            self.tenant_id = (
                QuerySet(DataScope).values_list("tenant_id", flat=True).get(pk=self.datascope_id)
            )
        check_same_tenant(self, division=self.division_id)
        check_tenant_write(self)
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.datascope_id and not self.tenant_id:
            self.tenant_id = self.datascope.tenant_id
        check_same_tenant(self, division=self.division_id)


class Division(models.Model):
    """A group of users in one tenant; its DataScope says who else sees its jobs."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="divisions")
    name = models.CharField(max_length=200)
    data_scope = models.OneToOneField(
        DataScope, on_delete=models.RESTRICT, related_name="target_division", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="division_name_per_tenant"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        check_tenant_write(self)
        if self.data_scope_id is None:
            # Every division is born with a private scope: only its own members see its jobs.
            with transaction.atomic(using=kwargs.get("using")):
                self.data_scope = DataScope.objects.create(tenant_id=self.tenant_id)
                super().save(*args, **kwargs)
            return
        scope_tenant = QuerySet(DataScope).filter(pk=self.data_scope_id).values("tenant_id")
        if not scope_tenant.filter(tenant_id=self.tenant_id).exists():
            raise ValidationError({"tenant": "A division's data scope must be in its tenant."})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        check_tenant_write(self)
        return super().delete(*args, **kwargs)


def check_same_tenant(obj, **division_ids):
    """Raise ValidationError when a named division field points into another tenant."""
    errors = {}
    for field, division_id in division_ids.items():
        if division_id is None or obj.tenant_id is None:
            continue
        # The truth, not the principal's view: a foreign id must not pass for missing.
        tenant_id = (
            QuerySet(Division).filter(pk=division_id).values_list("tenant_id", flat=True).first()
        )
        if tenant_id is not None and tenant_id != obj.tenant_id:
            errors[field] = "Choose a division of the same tenant."
    if errors:
        raise ValidationError(errors)


# Set while Django loads the request's user (divisions.middleware): the user row then comes
# with its tenant and division in one statement, and with the annotations named here.
_with_organisation = contextvars.ContextVar("with_organisation", default=None)


def with_organisation(function, *args, **annotations):
    """Call `function`; user rows it reads by the default manager come with tenant and division
    (and `annotations`, computed in the same statement)."""
    token = _with_organisation.set(annotations)
    try:
        return function(*args)
    finally:
        _with_organisation.reset(token)


class UserManager(BaseUserManager):
    """Django's user manager; sign-in reads the named user row before any principal exists."""

    def get_queryset(self):
        queryset = super().get_queryset()
        annotations = _with_organisation.get()
        if annotations is None:
            return queryset
        return queryset.select_related("tenant", "division").annotate(**annotations)

    def get_by_natural_key(self, username):
        scope = current_scope()
        if scope is not None and scope.is_unscoped:
            return super().get_by_natural_key(username)
        # On PostgreSQL the database then shows this one row and no other (docs/security.md).
        with looking_up(username):
            return super().get_by_natural_key(username)


class User(AbstractUser):
    """A person who signs in: a member of one tenant (platform operators have none)."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="users"
    )
    division = models.ForeignKey(
        Division, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    is_tenant_admin = models.BooleanField(
        "tenant admin",
        default=False,
        help_text="Manages this tenant's divisions, scopes, users and jobs, and sees every job "
        "of the tenant (needs staff status too).",
    )

    objects = UserManager()

    def clean(self):
        super().clean()
        if self.division_id is not None and self.tenant_id is None:
            raise ValidationError({"division": "A user without a tenant cannot have a division."})
        check_same_tenant(self, division=self.division_id)

    def check_password(self, raw_password):
        """Django's check; a rehash is saved as the user's own write (sign-in has no principal)."""

        def setter(raw_password):
            self.set_password(raw_password)
            self._password = None
            with acting_as(self):
                self.save(update_fields=["password"])

        return check_password(raw_password, self.password, setter)


class DataScopeChange(models.Model):
    """One recorded change to a DataScope: who made it, when, and the scope before and after."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    datascope = models.ForeignKey(DataScope, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        "User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept apart from changed_by so the record still names the person after they are deleted.
    changed_by_name = models.CharField(max_length=150)
    changed_at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField()
    after = models.JSONField()

    objects = ScopedManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["-changed_at", "-pk"]
        verbose_name = "data scope change"

    def __str__(self):
        return f"{self.datascope} changed by {self.changed_by_name} at {self.changed_at}"

    def save(self, *args, **kwargs):
        check_tenant_write(self)
        super().save(*args, **kwargs)

    @classmethod
    def record(cls, scope, before, by):
        """Store the change from `before` to the scope as it is now; no row when nothing moved."""
        after = scope.snapshot()
        if after == before:
            return None
        return cls.objects.create(
            tenant_id=scope.tenant_id,
            datascope=scope,
            changed_by=by if getattr(by, "pk", None) else None,
            changed_by_name=getattr(by, "username", "") or "system",
            before=before,
            after=after,
        )


class DataScopeEvent(models.Model):
    """One change to a DataScope as the database recorded it: a division added or removed, or
    "everyone" switched on or off; by whom (NULL for system work) and when.

    Written only by triggers on the scope tables (divisions/database/history.sql on PostgreSQL,
    divisions/migrations/0028_scope_history_sqlite.py on SQLite), so every path is recorded:
    the admin, the ORM, raw SQL. Nobody edits or deletes a row (only system work deletes, with
    the tenant). The scope, the division and the user are named by id with no database
    constraint, the division and the user with their names too, so the record outlives them.
    """

    ADDED = "added"
    REMOVED = "removed"
    EVERYONE_ON = "everyone_on"
    EVERYONE_OFF = "everyone_off"
    WHAT = [
        (ADDED, "division added"),
        (REMOVED, "division removed"),
        (EVERYONE_ON, "everyone switched on"),
        (EVERYONE_OFF, "everyone switched off"),
    ]

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    datascope = models.ForeignKey(
        DataScope,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="events",
    )
    what = models.CharField(max_length=20, choices=WHAT)
    division_id = models.BigIntegerField(null=True, blank=True)
    division_name = models.CharField(max_length=200, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)
    recorded_at = models.DateTimeField()

    objects = RecordManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["-recorded_at", "-pk"]
        verbose_name = "data scope event"

    def __str__(self):
        return f"{self.get_what_display()} on scope {self.datascope_id} at {self.recorded_at}"

    def save(self, *args, **kwargs):
        raise OutOfScope("Data scope events are recorded by the database alone.")

    def delete(self, *args, **kwargs):
        raise OutOfScope("Data scope events are never deleted one by one.")


class AccessReview(models.Model):
    """A tenant admin's statement that the tenant's access was reviewed: who, when, and the
    access matrix as it stood (divisions.visibility.matrix), kept as plain data."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    # The reviewer by id with no database constraint, and by name: the record outlives them,
    # and deleting them writes no review (only system work may, under row-level security).
    reviewed_by = models.ForeignKey(
        "User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_by_name = models.CharField(max_length=150)
    reviewed_at = models.DateTimeField(auto_now_add=True)
    matrix = models.JSONField()

    objects = AdminRecordManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["-reviewed_at", "-pk"]
        get_latest_by = "reviewed_at"
        verbose_name = "access review"

    def __str__(self):
        return f"Access reviewed by {self.reviewed_by_name} at {self.reviewed_at}"

    def save(self, *args, **kwargs):
        """Under a principal, as the database's insert policy: a new review, by a tenant admin
        of its tenant, in their own name."""
        check_tenant_write(self)
        principal = acting_principal()
        if principal is not None and not (
            self._state.adding
            and is_tenant_admin(principal)
            and self.reviewed_by_id == principal.pk
            and self.reviewed_by_name == principal.username
        ):
            raise OutOfScope("A tenant admin records a review of their tenant in their own name.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise OutOfScope("Access reviews are never deleted one by one.")
