"""The volunteers app's part of a matter's page (provided to ``issues.extensions``)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.urls import reverse

from issues.models import Issue
from members.models import User
from volunteers import permissions, queries
from volunteers.actions import matters


def facts() -> dict:
    """Asked with the matter itself on its page: whether activities work on it, and
    whether its council decided residents solve it."""
    matter = OuterRef("pk")
    return {
        "has_volunteer_activities": Exists(queries.matter_activities(matter)),
        "decided_for_residents": Exists(matters.decisions_for_residents(matter)),
    }


def volunteer_work(user: User, issue: Issue) -> dict | None:
    """The activities working on the matter and, for the community's staff, where to plan
    one while the matter is open and the council decided residents solve it (both known
    from ``facts``, answered with the issue)."""
    can_plan = (
        issue.is_open
        and permissions.may_manage_teams(user, issue.community)
        and issue.decided_for_residents
    )
    planned = list(queries.matter_activities(issue)) if issue.has_volunteer_activities else []
    if not planned and not can_plan:
        return None
    return {
        "activities": planned,
        # Staff and the street's admins open the activities; others see what was planned.
        "can_open": permissions.may_see_volunteers(user, issue.community),
        "plan_url": reverse("volunteers:matter_activity_create", args=[issue.pk])
        if can_plan
        else None,
    }
