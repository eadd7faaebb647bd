"""The pages the meetings app's notices are about (see ``members.extensions.notice_target``).

A notice about a meeting names it as ``meeting_id`` in its context
(``queries.notice_context``), one about minutes as ``minutes_id`` too; each opens its
page, or 404 when the reader may no longer see it.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse

from deliberation import minutes_queries, queries
from members.models import User


def meeting_page(user: User, context: dict) -> str:
    meeting_id = int(context["meeting_id"])
    if not queries.meetings_visible_to(user).filter(pk=meeting_id).exists():
        raise Http404
    return reverse("meetings:detail", args=[meeting_id])


def minutes_page(user: User, context: dict) -> str:
    minutes_id = int(context["minutes_id"])
    if not minutes_queries.minutes_visible_to(user).filter(pk=minutes_id).exists():
        raise Http404
    return reverse("minutes:detail", args=[minutes_id])


MEETING_KINDS = (
    "meeting_notice",
    "meeting_reminder",
    "meeting_cancelled",
    "meeting_moved",
    "meeting_urgent",
    "meeting_late_items",
    "meeting_guest_invited",
    "party_task",
    "party_replied",
)
MINUTES_KINDS = ("minutes_ready",)


def guest_start_page(user: User) -> str | None:
    """A cadre invited to meetings starts from the list of them."""
    if not queries.guest_meeting_ids(user).exists():
        return None
    return reverse("meetings:list")
