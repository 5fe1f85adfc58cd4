"""A job: a piece of work a tenant's division owns."""

from django.db import models
from django.urls import reverse
from django.utils import timezone

from divisions.models import Division, Tenant, check_same_tenant
from divisions.scoping import OutOfScope, acting_principal
from divisions.visibility import may_place_job

from .managers import JobManager


class Job(models.Model):
    """A job of one tenant, owned by one of its divisions (or by none: admins only)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    division = models.ForeignKey(
        # RESTRICT: a division with jobs cannot be deleted, except with its whole tenant.
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
            models.Index(fields=["division", "-created_at", "-id"], name="job_division_newest"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        check_same_tenant(self, division=self.division_id)
        principal = acting_principal()
        if principal is not None:
            if not self._state.adding and not Job.objects.filter(pk=self.pk).exists():
                raise Job.DoesNotExist("No job matches the given query.")
            if not may_place_job(principal, self.tenant_id, self.division_id):
                raise OutOfScope("A job can only be saved into a division you can see.")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("jobs:detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        # Model.delete() goes by primary key, not through the scoped manager.
        if acting_principal() is not None and not Job.objects.filter(pk=self.pk).exists():
            raise Job.DoesNotExist("No job matches the given query.")
        return super().delete(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.division_id is not None and self.tenant_id is not None:
            check_same_tenant(self, division=self.division_id)
