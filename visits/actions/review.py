"""The street's bar for the quarter's review of its visiting teams."""

from __future__ import annotations

from django.db import transaction

from members.models import Street, User
from visits.models import ReviewThresholds


@transaction.atomic
def thresholds_set(
    *, actor: User, street: Street, visited_percent: int, satisfied_percent: int
) -> ReviewThresholds:
    """Set the shares below which the review flags a team (0–100 each)."""
    thresholds, _created = ReviewThresholds.objects.update_or_create(
        street=street,
        defaults={"visited_percent": visited_percent, "satisfied_percent": satisfied_percent},
    )
    return thresholds
