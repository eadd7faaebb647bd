"""What members' pages show of a person's volunteering (``members.extensions.volunteering``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from members.models import User
from volunteers import queries


@dataclass(frozen=True)
class Volunteering:
    url: str
    minutes: int


def volunteering(user: User) -> Volunteering | None:
    """The volunteer's page and balance; None for anyone who is not a volunteer (one query)."""
    volunteer = queries.volunteer_of(user)
    if volunteer is None:
        return None
    return Volunteering(url=reverse("volunteers:mine"), minutes=queries.balance_minutes(volunteer))
