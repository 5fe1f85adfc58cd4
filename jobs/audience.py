"""What a user sees, for the admin's user page: the divisions and how many jobs that is."""

from divisions.audience import divisions_seen_by

from .models import Job


def sight_of(user):
    """The divisions whose jobs `user` may see, and how many jobs that is in all."""
    return divisions_seen_by(user), Job.objects.visible_to(user).count()
