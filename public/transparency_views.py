"""The public transparency page of a community, and the switch staff publish it with.

Reached from the QR poster by the same signed community token as the report form. It shows
one month of the council's work: meetings, what was decided on the agenda items of the
meetings held, and counts. It holds no personal data: no names of residents, members or
staff (but for the volunteers who agreed to be thanked, by the name each chose), no phone
numbers, no decision notes or explanations (those may name people), and no place finer
than an issue's title, which the tracking pages already show to anyone.

A community that has not published its page answers exactly as a forged token does (404),
so the page cannot tell anyone which communities exist.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common.qr import qr_code
from deliberation.models import Decision, Meeting, tally_text
from issues import figures
from issues.models import Issue
from members import actions as members_actions
from members.models import Community
from public.views import (
    community_from_token,
    lookup_throttled,
    poster_community,
    public_form_token,
    public_page,
)
from volunteers import queries as volunteer_queries

# How far back the page goes: two years of months, the current one included.
MONTHS_BACK = 24
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass
class PublicItem:
    """A decided agenda item as the public sees it: what it was about and the decision."""

    subject: str
    decision: str
    tally: str = ""  # the vote, when there was one: "9 赞成 · 0 反对 · 1 弃权"


@dataclass
class PublicMeeting:
    starts_at: dt.datetime
    place: str
    kind: str
    state: str
    held: bool
    items: list[PublicItem] = field(default_factory=list)


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _month_of(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_bounds(first: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month's start and the next month's start, in the site's time zone (Asia/Shanghai)."""
    following = _month_of(_month_index(first.year, first.month) + 1)
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=zone),
        dt.datetime.combine(following, dt.time.min, tzinfo=zone),
    )


def _chosen_month(raw: str | None, current: int) -> int | None:
    """The month asked for as an index, the current one when none is; None if not allowed."""
    if raw is None:
        return current
    match = MONTH.match(raw.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        return None
    index = _month_index(int(match[1]), int(match[2]))
    return index if current - MONTHS_BACK < index <= current else None


@require_GET
@public_page
@lookup_throttled
def transparency(request: HttpRequest, token: str) -> HttpResponse:
    """One month of the council's work (``?month=YYYY-MM``, the current month by default)."""
    community = community_from_token(token)
    if not community.transparency_public:
        raise Http404  # the same answer as a forged token
    today = timezone.localdate()
    current = _month_index(today.year, today.month)
    chosen = _chosen_month(request.GET.get("month"), current)
    context = {
        "community": community,
        # The current key's token, even when the page was reached by an older key's.
        "form_token": public_form_token(community),
    }
    if chosen is None:
        context["error"] = _(
            "Choose a month of the last two years, written as year-month, such as %(example)s."
        ) % {"example": today.strftime("%Y-%m")}
        return render(request, "public/transparency.html", context, status=422)
    month = _month_of(chosen)
    start, end = _month_bounds(month)
    context.update(
        month=month,
        previous=_month_of(chosen - 1) if chosen - 1 > current - MONTHS_BACK else None,
        next=_month_of(chosen + 1) if chosen < current else None,
        meetings=_meetings(community, start, end),
        counts=_counts(community, start, end),
        figures=figures.community_review_figures(community),
        # Volunteers who agreed to it, by the name each chose (王阿姨, or a surname).
        thanked=volunteer_queries.thanked_in(community, start, end),
    )
    return render(request, "public/transparency.html", context)


def _meetings(community: Community, start: dt.datetime, end: dt.datetime) -> list[PublicMeeting]:
    """The month's meetings held or to come, with the decided items of those held: two queries.

    Only the columns shown are read (``values_list``), so notes, explanations, attendance and
    who recorded what never leave the database for this page.
    """
    in_month = Meeting.objects.filter(
        council__community_id=community.pk, starts_at__gte=start, starts_at__lt=end
    ).exclude(state=Meeting.State.CANCELLED)
    meetings: dict[int, PublicMeeting] = {}
    rows = in_month.order_by("starts_at", "pk").values_list(
        "pk", "starts_at", "place", "kind", "state"
    )
    for pk, starts_at, place, kind, state in rows:
        meetings[pk] = PublicMeeting(
            starts_at=starts_at,
            place=place,
            kind=str(Meeting.Kind(kind).label),
            state=str(Meeting.State(state).label),
            held=state == Meeting.State.HELD,
        )
    decided = (
        Decision.objects.filter(
            item__meeting__in=in_month.filter(state=Meeting.State.HELD),
            item__removed_at__isnull=True,
        )
        .order_by("item__meeting_id", "item__position", "item_id")
        .values_list(
            "item__meeting_id",
            "item__issue__title",
            "item__topic",
            "outcome",
            "votes_for",
            "votes_against",
            "votes_abstain",
        )
    )
    for meeting_id, title, topic, outcome, votes_for, against, abstain in decided:
        meetings[meeting_id].items.append(
            PublicItem(
                subject=title or topic,
                decision=str(Decision.Outcome(outcome).label),
                tally="" if votes_for is None else tally_text(votes_for, against, abstain),
            )
        )
    return list(meetings.values())


def _counts(community: Community, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Issues collected and resolved in the month, and open now: one grouped query.

    "Resolved" counts resolutions that still stand (a reopen clears ``resolved_at``), so a
    matter reopened later is no longer counted as resolved in its month.
    """
    return Issue.objects.filter(community_id=community.pk).aggregate(
        collected=Count("pk", filter=Q(created__gte=start, created__lt=end)),
        resolved=Count("pk", filter=Q(resolved_at__gte=start, resolved_at__lt=end)),
        still_open=Count("pk", filter=Q(status__in=Issue.OPEN_STATUSES)),
    )


# --- The switch, on the poster page ---------------------------------------------------------


@login_required
@require_POST
def transparency_switch(request: HttpRequest, community_id: int) -> HttpResponse:
    """Publish or withdraw the page; those who print the poster decide (others 403/404)."""
    community = poster_community(request.user, community_id)
    public = request.POST.get("public") == "1"
    members_actions.community_transparency_set(
        actor=request.user, community=community, public=public
    )
    messages.success(
        request,
        _("The transparency page is public. The poster now shows its code.")
        if public
        else _("The transparency page is withdrawn. Its link now finds nothing."),
    )
    return redirect("public:poster", community_id=community.pk)


@login_required
@require_GET
def transparency_qr(request: HttpRequest, community_id: int) -> HttpResponse:
    """The QR code of the transparency page, for the poster (an SVG image)."""
    community = poster_community(request.user, community_id)
    url = request.build_absolute_uri(reverse_transparency(community))
    out = io.BytesIO()
    qr_code(url).save(out, kind="svg", scale=10, border=4, xmldecl=True)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


def reverse_transparency(community: Community) -> str:
    """The path of the community's transparency page (the same token as its report form)."""
    return reverse("public:transparency", args=[public_form_token(community)])
