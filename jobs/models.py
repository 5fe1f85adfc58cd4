"""A job: a piece of work a tenant's division owns, and the notes left on it."""

from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.urls import reverse
from django.utils import timezone

from divisions.fields import SameTenantForeignKey
from divisions.managers import ScopedForeignKey
from divisions.models import Division, Tenant, User, check_same_tenant
from divisions.scoping import OutOfScope, acting_principal
from divisions.visibility.writes import (
    MEMBERS_CHANGE_STATUS,
    STATUS_COLUMNS,
    may_change_columns,
    may_place_job,
)

from .managers import JobManager, JobNoteManager
from .status import StatusChanged, note_body

PLACEMENT_FIELDS = frozenset({"tenant", "tenant_id", "division", "division_id"})


class Job(models.Model):
    """A job of one tenant, owned by one of its divisions (or by none: admins only)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    division = ScopedForeignKey(
        # RESTRICT: a division with jobs cannot be deleted, except with its whole tenant.
        # Scoped: a join from divisions into jobs (division__jobs__...) sees visible jobs only.
        Division,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="jobs",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list page: one tenant's (or one division's) jobs, newest first.
            models.Index(fields=["tenant", "-created_at", "-id"], name="job_tenant_newest"),
            # One division's jobs newest first, carrying what the rule and the title search
            # read: a member's capped count and the search's per-division walk read this
            # index alone, not one table page per job (the INCLUDE columns are PostgreSQL's;
            # SQLite keeps the key columns).
            models.Index(
                fields=["division", "-created_at", "-id"],
                include=["tenant", "status", "title"],
                name="job_division_covering",
            ),
            # sort=title and sort=status: a keyset page reads its rows in order, no sort of
            # every visible job.
            models.Index(fields=["tenant", "title", "-created_at", "-id"], name="job_tenant_title"),
            models.Index(
                fields=["tenant", "status", "-created_at", "-id"], name="job_tenant_status"
            ),
            # sort=title for a member who sees one division's jobs.
            models.Index(
                fields=["division", "title", "-created_at", "-id"], name="job_division_title"
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        """Under a principal, by the write rule (divisions.visibility.writes): a new job, or
        one moved to another tenant or division, only by the tenant's admin; a change only of
        a job the principal may write (see _do_update)."""
        principal = acting_principal()
        if self._placed_anew(kwargs.get("update_fields")):
            if principal is not None and not may_place_job(principal, self.tenant_id):
                raise OutOfScope("Only the tenant's admins create jobs or move them.")
            check_same_tenant(self, division=self.division_id)
        super().save(*args, **kwargs)
        self._loaded_placement = (self.tenant_id, self.division_id)

    def get_absolute_url(self):
        return reverse("jobs:detail", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        job = super().from_db(db, field_names, values)
        # Where it was stored when loaded: a save that keeps it there needs no placement check.
        job._loaded_placement = (job.__dict__.get("tenant_id"), job.__dict__.get("division_id"))
        return job

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._loaded_placement = (self.__dict__.get("tenant_id"), self.__dict__.get("division_id"))

    def _placed_anew(self, update_fields):
        """True when this save creates the job or may change its tenant or division."""
        if self._state.adding:
            return True
        if update_fields is not None and not PLACEMENT_FIELDS & set(update_fields):
            return False
        loaded = getattr(self, "_loaded_placement", None)
        return (self.tenant_id, self.division_id) != loaded

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        """The UPDATE of save(), through the scoped base manager: it reaches the row only when
        the principal may write it. A member's save writes the status and updated_at, on the
        condition (in the same statement) that every other column is as stored: changing one
        of them is refused, not silently dropped."""
        principal = acting_principal()
        if principal is not None and not may_change_columns(
            principal, (field.attname for field, _, _ in values)
        ):
            kept = {f.attname: v for f, _, v in values if f.attname not in STATUS_COLUMNS}
            base_qs = base_qs.filter(**kept)
            values = [(f, m, v) for f, m, v in values if f.attname in STATUS_COLUMNS]
        updated = super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)
        if principal is not None and not updated and not self._state.adding:
            refusal = Job.objects.refusal(pk_val, {"status": self.status})
            raise refusal or OutOfScope(MEMBERS_CHANGE_STATUS)
        return updated

    def delete(self, *args, **kwargs):
        # Model.delete() goes by primary key, not through the scoped manager.
        if acting_principal() is not None and (refusal := Job.objects.refusal(self.pk)):
            raise refusal
        return super().delete(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.division_id is not None and self.tenant_id is not None:
            check_same_tenant(self, division=self.division_id)

    def change_status(self, status, by, seen=None):
        """Compare-and-set: move the status from `seen` (default: this instance's) to `status`
        and record the move as a note in `by`'s name, in one transaction; the note, or None
        when `status` is `seen`. Raises StatusChanged, writing nothing, when the stored status
        is no longer `seen` or the principal may not change it."""
        seen = self.status if seen is None else seen
        if status == seen:
            return None
        now = timezone.now()
        # No savepoint: nothing is written unless both statements are, and the refusal is
        # raised outside the block, so a caller's transaction goes on.
        with transaction.atomic(savepoint=False):
            # One conditional UPDATE: of two changes from the same status, the second finds
            # the row changed (PostgreSQL re-reads it after the first commits) and writes
            # nothing, so no change is lost and each note names the status it replaced.
            changed = Job.objects.filter(pk=self.pk, status=seen).update(
                status=status, updated_at=now
            )
            if changed:
                note = JobNote.objects.create(
                    job=self,
                    author=by,
                    body=note_body(Job.Status(seen), Job.Status(status), by.get_username()),
                )
        if not changed:
            raise StatusChanged(f"Job {self.pk} is no longer {seen}.")
        self.status, self.updated_at = status, now
        return note


NOTE_MAX_LENGTH = 2000


class JobNote(models.Model):
    """A note on a job: whoever may see the job reads its notes and may add one."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    job = SameTenantForeignKey(Job, on_delete=models.CASCADE, related_name="notes")
    # No reverse relation: User.objects.filter(<notes>__body=...) would be a join into the
    # notes that no scope covers.
    author = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The author's username as written: readers may not read the author's user row.
    author_name = models.CharField(max_length=150, blank=True)
    body = models.TextField(max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    objects = JobNoteManager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["job", "created_at", "id"], name="jobnote_job_oldest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    GreaterThan(Length("body"), 0), LessThanOrEqual(Length("body"), NOTE_MAX_LENGTH)
                ),
                name="jobnote_body_length",
            )
        ]

    def __str__(self):
        return self.body[:60]

    def save(self, *args, **kwargs):
        """Under a principal, a new note is in the principal's own name (an existing one is
        never edited: the scoped update refuses it)."""
        principal = acting_principal()
        if principal is not None and self._state.adding and self.author_id != principal.pk:
            raise OutOfScope("A note is added in its author's own name.")
        if self.job_id is not None:
            # The job's tenant, whatever the caller passed: a note never crosses tenants.
            self.tenant_id = (
                Job.objects.filter(pk=self.job_id).values_list("tenant_id", flat=True).get()
            )
        if self.author_id is not None and not self.author_name:
            self.author_name = self.author.get_username()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        # Model.delete() goes by primary key, not through the scoped manager.
        if acting_principal() is not None and (refusal := JobNote.objects.refusal(self.pk)):
            raise refusal
        return super().delete(*args, **kwargs)
