"""Builders of visiting teams through the visits app's actions."""

from __future__ import annotations

import datetime as dt

from members.models import Community, User
from tests import factories
from visits.actions import teams
from visits.models import Team


def team(
    street,
    name: str,
    *,
    leader: User,
    members=(),
    communities: list[Community] = (),
    admin: User | None = None,
    today: dt.date = dt.date(2026, 9, 1),
) -> Team:
    return teams.team_create(
        actor=admin or leader, street=street, name=name, leader=leader, members=members,
        communities=communities, today=today,
    )  # fmt: skip


def cadre(username: str) -> User:
    """An account whose only role is a team's work (a cadre sent down, 下沉干部)."""
    return factories.user(username, display_name=f"{username} 下沉干部")
