"""A personal access token: a user's credential for the JSON API, stored only as a hash."""

from django.db import models
from django.utils import timezone

from divisions.models import User

NAME_MAX_LENGTH = 100


class AccessToken(models.Model):
    """One named token of one user; usable until it expires or is revoked."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    # SHA-256 (hex) of the token: the token itself is shown once and never stored.
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="accesstoken_user_newest")]

    def __str__(self):
        return self.name

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self):
        """True when the token still authenticates (its user's state aside)."""
        return self.revoked_at is None and not self.is_expired


class RateWindow(models.Model):
    """One token's current rate window: when it opened and the requests counted in it.

    One row per token, written in place by one atomic upsert per API request (api/tokens.py;
    on PostgreSQL the function proone_token_user()): every worker counts in the same row, and
    the rows never outnumber the tokens."""

    token = models.OneToOneField(
        AccessToken, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    hits = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.hits} since {self.opened_at:%H:%M:%S}"
