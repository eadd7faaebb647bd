"""Each page runs the same number of SQL queries for 3 rows as for 300."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deliberation.actions import agenda, running
from deliberation.models import AgendaItem, Meeting
from issues.actions import handling
from members.models import Community, Council, CouncilMember, Notice, Resident
from tests import factories
from tests.helpers.meetings import quorum_present


def fill(manan, nanen, count: int) -> None:
    residents = Resident.objects.bulk_create(
        Resident(community=manan, name=f"居民{i:04d}", phone="13812345678", building=f"{i % 9}栋")
        for i in range(count)
    )
    CouncilMember.objects.bulk_create(
        CouncilMember(
            council=manan.council,
            resident=resident,
            category="other",
            joined_on=dt.date(2024, 1, 8),
            left_on=dt.date(2024, 6, 1) if i % 2 else None,
        )
        for i, resident in enumerate(residents)
    )
    for i in range(count // 10):
        community = Community.objects.create(street=nanen, name=f"测试社区{count}-{i}")
        Council.objects.create(community=community, name=f"{community.name}议事会")


def notices(user, count: int) -> None:
    Notice.objects.bulk_create(
        Notice(recipient=user, kind="test", channel="inapp", status="sent", key=f"q{count}-{i}",
               context={"text": str(i)})
        for i in range(count)
    )  # fmt: skip


def count_queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


# Every page reads the session, the user with its unread count (members.backends) and the
# user's roles (3 queries), then its own data. A change to a pin is explained in its commit.
# The community, council, street and "me" pages show follow-up review figures
# (issues.figures): two queries more each, one of grouped counts and one of medians,
# however many reviews there are (tests/test_review_figures.py pins them for 3 and 30).
PAGES = [
    # + community, residents page, review figures (2)
    ("manan_staff", lambda c: reverse("members:residents", args=[c["manan"].pk]), {}, 7),
    ("manan_staff", lambda c: reverse("members:residents", args=[c["manan"].pk]), {"q": "3栋"}, 7),
    # + community, council, members with residents, review figures (2)
    ("manan_staff", lambda c: reverse("members:council", args=[c["manan"].pk]), {"former": "1"}, 8),
    # + notices page
    ("manan_staff", lambda c: reverse("members:notices"), {}, 4),
    # + street, communities with both counts, review figures of each and of the street (2)
    ("nanen_admin", lambda c: reverse("members:street", args=[c["nanen"].pk]), {}, 7),
    # + memberships with council, community and street, their councils' review figures (2),
    # whether they volunteer (members.extensions.volunteering)
    ("manan_member", lambda c: reverse("members:me"), {}, 7),
    # + departments, escalations assigned to them
    ("city_handler", lambda c: reverse("issues:work"), {}, 5),
]


@pytest.mark.parametrize(("person", "url", "params", "pinned"), PAGES)
def test_query_count_does_not_grow_with_rows(
    request, as_user, manan, nanen, person, url, params, pinned
):
    user = request.getfixturevalue(person)
    client = as_user(user)
    target = url({"manan": manan, "nanen": nanen})
    fill(manan, nanen, 3)
    notices(user, 3)
    few = count_queries(client, target, **params)
    fill(manan, nanen, 300)
    notices(user, 300)
    many = count_queries(client, target, **params)
    assert few == many == pinned


# --- The meeting page, however long its agenda ----------------------------------------------


def grow_agenda(meeting, actor, count: int) -> None:
    """Items up to ``count``: every third decided, every fourth taken off, a few to add."""
    quorum_present(meeting, actor)
    for i in range(meeting.agenda_items.count(), count):
        issue = factories.issue(meeting.council.community, actor=actor, title=f"事项{i}")
        issue = handling.issue_transition(issue=issue, actor=actor, name="accept")
        item = AgendaItem.objects.create(meeting=meeting, issue=issue, position=i)
        if i % 3 == 0:
            running.decision_record(item=item, actor=actor, outcome="solve_by_council", notes="")
        elif i % 4 == 1:
            agenda.agenda_item_remove(item=item, actor=actor)
        factories.issue(meeting.council.community, actor=actor)  # a candidate to add


# + meeting; the councils joined to it (one query however many); members; attendances;
# guests; agenda; items taken off; latest minutes; and for staff the next meeting and the
# units they may invite, for a member their own term. The issues staff can add load when
# asked for.
@pytest.mark.parametrize(("person", "pinned"), [("manan_staff", 13), ("manan_member", 12)])
def test_meeting_page_query_count_does_not_grow_with_the_agenda(
    request, as_user, manan, manan_staff, person, pinned
):
    starts = timezone.now() + dt.timedelta(days=2)
    meeting = Meeting.objects.create(
        council=manan.council, starts_at=starts, notice_due_at=starts - dt.timedelta(days=3)
    )
    Meeting.objects.create(
        council=manan.council,
        starts_at=starts + dt.timedelta(days=10),
        notice_due_at=starts,
    )
    client = as_user(request.getfixturevalue(person))
    url = reverse("meetings:detail", args=[meeting.pk])
    grow_agenda(meeting, manan_staff, 3)
    few = count_queries(client, url)
    grow_agenda(meeting, manan_staff, 40)
    many = count_queries(client, url)
    assert few == many == pinned
