"""The pages visits' notices lead to, and a team member's start page (see members.extensions)."""

from __future__ import annotations

from django.urls import reverse

from members.models import User
from visits import permissions, queries

TEAM_KINDS = ["round_overdue"]


def team_page(user: User, context: dict) -> str:
    """A late round opens the team's page; 404 when the reader no longer sees the team."""
    team = queries.team_for(user, int(context["team_id"]))
    return reverse("visits:team", args=[team.pk])


def start_page(user: User) -> str | None:
    """A member of a team with no other role starts from their (first) team's page."""
    team_ids = permissions.team_ids_of(user)
    if not team_ids:
        return None
    return reverse("visits:team", args=[min(team_ids)])
