"""Sign-offs, hashes of applied migrations, and the append-only audit log."""

from django.conf import settings
from django.db import models


class SignOff(models.Model):
    """A reviewer's approval of one migration file, bound to the SHA-256 of its content."""

    class Kind(models.TextChoices):
        APPLY = "apply", "apply"
        FAKE = "fake", "record as applied without running (--fake)"
        UNAPPLY = "unapply", "unapply (going backwards or to zero)"

    app_label = models.CharField(max_length=100)
    migration_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.APPLY)
    sha256 = models.CharField("SHA-256 of the file", max_length=64)
    # The app role cannot read this table, so deleting a user (or its tenant) must not look
    # here, as PROTECT or CASCADE would; the row keeps the reviewer's name under its signature.
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="migration_signoffs",
    )
    reviewer_username = models.CharField(max_length=150)
    author = models.CharField(
        max_length=500, help_text="Who wrote the file, from git (or as declared when uncommitted)."
    )
    acknowledged = models.JSONField(default=list, help_text="Lint codes the reviewer accepted.")
    note = models.TextField(blank=True)
    signature = models.CharField(
        max_length=64,
        blank=True,
        db_default="",
        help_text="HMAC-SHA256 under the gate key (GATE_SIGNING_KEY), which the app never holds.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [("signoff_migration", "Can sign off a migration")]
        verbose_name = "sign-off"

    def __str__(self):
        return f"{self.app_label}.{self.migration_name} ({self.kind}) by {self.reviewer_username}"


class AppliedMigration(models.Model):
    """The SHA-256 of a migration file at the moment the gate applied it."""

    app_label = models.CharField(max_length=100)
    migration_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    signoff = models.ForeignKey(SignOff, null=True, on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField(auto_now_add=True)
    how = models.CharField(max_length=20, default="applied")

    class Meta:
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["app_label", "migration_name"], name="gate_applied_unique"
            )
        ]

    def __str__(self):
        return f"{self.app_label}.{self.migration_name}"


class AppendOnlyError(RuntimeError):
    """An audit row was about to be changed or deleted."""


class AuditEntry(models.Model):
    """One attempt or one applied migration; rows are chained by hash and never change."""

    event = models.CharField(max_length=20)
    outcome = models.CharField(max_length=20)
    database = models.CharField(max_length=100)
    os_user = models.CharField(max_length=150)
    host = models.CharField(max_length=255)
    db_user = models.CharField(max_length=150, blank=True)
    git_commit = models.CharField(max_length=64, blank=True)
    tool_version = models.CharField(max_length=100)
    app_label = models.CharField(max_length=100, blank=True)
    migration_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    signoff_id_ref = models.BigIntegerField("sign-off id", null=True)
    reviewer = models.CharField(max_length=150, blank=True)
    acknowledged = models.JSONField(default=list)
    detail = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempt = models.BigIntegerField(
        null=True, help_text="The 'started' row of the run this row belongs to or ends."
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    duration_ms = models.IntegerField()
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self):
        target = f"{self.app_label}.{self.migration_name}" if self.app_label else "run"
        return f"#{self.pk} {self.event} {target}: {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("The migration audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The migration audit log is append-only.")
