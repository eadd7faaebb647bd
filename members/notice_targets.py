"""The pages members' own notices are about (see ``members.extensions.notice_target``)."""

from __future__ import annotations

from django.urls import reverse

from members import queries
from members.models import User


def home(user: User, context: dict) -> str:
    """A welcome leads to the page the person starts from."""
    return reverse("home")


def council_page(user: User, context: dict) -> str:
    """A new member leads to the council's roster; 404 when its community is not the user's."""
    community = queries.community_for(user, int(context["community_id"]))
    return reverse("members:council", args=[community.pk])


TARGETS = {"welcome": home, "test": home, "member_joined": council_page}
