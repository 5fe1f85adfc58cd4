"""A submit that wrote: the user's key for it, what was sent, and the answer it got."""

from datetime import timedelta

from django.db import models
from django.utils import timezone

from divisions.models import User

# A form token is accepted, and a key remembered, this long; older rows are deleted.
LIFETIME = timedelta(hours=24)
KEY_MAX_LENGTH = 255


class Submit(models.Model):
    """One write made for `user` under `key` (a form token or an Idempotency-Key).

    The row is written in the transaction of the write it names, and the (user, key) pair is
    unique: of two submits with one key, the second waits for the first and finds its row.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    # SHA-256 (hex) of what was submitted: the same key with other content is another request.
    request = models.CharField(max_length=64)
    # The answer to repeat: an HTTP status and its body (JSON, or the URL a form redirects to);
    # null while the write is under way.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="submit_user_key")]
        indexes = [models.Index(fields=["created_at"], name="submit_created")]

    def __str__(self):
        return self.key

    @property
    def is_answered(self):
        return self.status is not None
