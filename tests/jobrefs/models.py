"""A test-only model with a foreign key to Job, to test forward access and cascades."""

from django.db import models


class JobNote(models.Model):
    """A note on a job; reaching `note.job` goes through Job's base manager."""

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="notes")
    text = models.CharField(max_length=100, default="note")

    class Meta:
        app_label = "jobrefs"
