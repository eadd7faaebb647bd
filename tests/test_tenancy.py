"""Every URL that shows or changes a community's data, tried by people who must not reach it.

Outsiders (staff of another community, the admin of another street) get 404,
exactly as for an id that does not exist, and nothing changes; anonymous
visitors are sent to the login page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from deliberation.models import AgendaItem, Attendance, Meeting
from issues.actions import handling
from members.models import CouncilMember, PhoneReveal, Resident
from tests import factories


@pytest.fixture
def manan_data(manan):
    resident = factories.resident(manan, "李秀英", phone="13900001234", building="5栋")
    member = factories.council_member(manan, factories.resident(manan, "陈志强"))
    return {"community": manan, "resident": resident, "member": member}


def community_urls(data) -> list[tuple[str, str, dict]]:
    c = data["community"].pk
    r = data["resident"].pk
    m = data["member"].pk
    return [
        ("get", reverse("members:residents", args=[c]), {}),
        ("get", reverse("members:resident_create", args=[c]), {}),
        ("post", reverse("members:resident_create", args=[c]), {"name": "入侵者"}),
        ("get", reverse("members:resident_edit", args=[c, r]), {}),
        ("post", reverse("members:resident_edit", args=[c, r]), {"name": "改名"}),
        ("get", reverse("members:resident_deactivate", args=[c, r]), {}),
        ("post", reverse("members:resident_deactivate", args=[c, r]), {"reason": "x"}),
        ("post", reverse("members:resident_reactivate", args=[c, r]), {}),
        ("post", reverse("members:resident_phone", args=[c, r]), {}),
        ("get", reverse("members:council", args=[c]), {}),
        ("get", reverse("members:council_member_join", args=[c]), {}),
        (
            "post",
            reverse("members:council_member_join", args=[c]),
            {"resident": r, "joined_on": "2025-01-08", "role": "member", "category": "other"},
        ),
        ("get", reverse("members:council_member_edit", args=[c, m]), {}),
        ("post", reverse("members:council_member_edit", args=[c, m]), {"role": "leader"}),
        ("get", reverse("members:council_member_leave", args=[c, m]), {}),
        ("post", reverse("members:council_member_leave", args=[c, m]), {"left_on": "2025-02-01"}),
    ]


def snapshot(data) -> tuple:
    return (
        list(Resident.objects.order_by("id").values_list("id", "name", "is_active")),
        list(CouncilMember.objects.order_by("id").values_list("id", "role", "left_on")),
        PhoneReveal.objects.count(),
    )


@pytest.mark.outsider(
    "members:residents",
    "members:resident_create",
    "members:resident_edit",
    "members:resident_deactivate",
    "members:resident_reactivate",
    "members:resident_phone",
    "members:council",
    "members:council_member_join",
    "members:council_member_edit",
    "members:council_member_leave",
)
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_get_404_and_change_nothing(request, outsider, htmx, manan_data, as_user):
    client = as_user(request.getfixturevalue(outsider))
    before = snapshot(manan_data)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for method, url, payload in community_urls(manan_data):
        response = getattr(client, method)(url, payload, **headers)
        assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot(manan_data) == before


@pytest.mark.outsider(
    "members:resident_edit",
    "members:resident_deactivate",
    "members:resident_phone",
    "members:council_member_edit",
    "members:council_member_leave",
)
def test_ids_of_another_community_under_ones_own_give_404(
    manan_data, xingfu, xingfu_staff, as_user
):
    """Mixing one's own community id with another community's resident id finds nothing."""
    client = as_user(xingfu_staff)
    r = manan_data["resident"].pk
    m = manan_data["member"].pk
    for url in [
        reverse("members:resident_edit", args=[xingfu.pk, r]),
        reverse("members:resident_deactivate", args=[xingfu.pk, r]),
        reverse("members:council_member_edit", args=[xingfu.pk, m]),
        reverse("members:council_member_leave", args=[xingfu.pk, m]),
    ]:
        assert client.get(url).status_code == 404
    assert client.post(reverse("members:resident_phone", args=[xingfu.pk, r])).status_code == 404
    assert PhoneReveal.objects.count() == 0


@pytest.mark.outsider("members:street")
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_streets_page_is_404_to_outsiders(request, outsider, htmx, nanen, nanen_admin, as_user):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = reverse("members:street", args=[nanen.pk])
    assert as_user(request.getfixturevalue(outsider)).get(url, **headers).status_code == 404
    assert as_user(nanen_admin).get(url, **headers).status_code == 200


def test_anonymous_visitors_are_sent_to_login(manan_data, client):
    login = reverse("login")
    urls = [url for _, url, _ in community_urls(manan_data)]
    urls += [reverse("home"), reverse("members:me"), reverse("issues:work")]
    urls += [reverse("members:notices"), reverse("members:street", args=[1])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url
    assert Resident.objects.filter(name="入侵者").count() == 0


def test_street_admin_sees_but_may_not_change(manan_data, nanen_admin, as_user):
    client = as_user(nanen_admin)
    c, r = manan_data["community"].pk, manan_data["resident"].pk
    assert client.get(reverse("members:residents", args=[c])).status_code == 200
    assert client.get(reverse("members:council", args=[c])).status_code == 200
    assert client.get(reverse("members:resident_edit", args=[c, r])).status_code == 403
    assert client.post(reverse("members:resident_phone", args=[c, r])).status_code == 403
    assert (
        client.post(reverse("members:resident_create", args=[c]), {"name": "新人"}).status_code
        == 403
    )
    assert not Resident.objects.filter(name="新人").exists()
    assert PhoneReveal.objects.count() == 0


def test_council_member_sees_their_council_but_not_residents(manan_data, manan_member, as_user):
    client = as_user(manan_member)
    c = manan_data["community"].pk
    assert client.get(reverse("members:council", args=[c])).status_code == 200
    assert client.get(reverse("members:residents", args=[c])).status_code == 403
    assert (
        client.post(
            reverse("members:resident_phone", args=[c, manan_data["resident"].pk])
        ).status_code
        == 403
    )


def test_department_handler_sees_no_community(manan_data, city_handler, as_user):
    client = as_user(city_handler)
    assert (
        client.get(reverse("members:residents", args=[manan_data["community"].pk])).status_code
        == 404
    )
    assert (
        client.get(reverse("members:council", args=[manan_data["community"].pk])).status_code == 404
    )


def test_former_council_member_loses_access(manan, manan_member, manan_leader_term, as_user):
    import datetime as dt

    from members import actions

    actions.council_member_leave(
        actor=manan_member, member=manan_leader_term, left_on=dt.date(2025, 3, 1)
    )
    assert as_user(manan_member).get(reverse("members:council", args=[manan.pk])).status_code == 404


# --- Running a meeting: agenda edits, closing, cancelling, a member's own sign-in ---------


@pytest.fixture
def manan_meeting(manan, manan_staff):
    starts = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    meeting = Meeting.objects.create(
        council=manan.council, starts_at=starts, notice_due_at=starts - dt.timedelta(days=3)
    )
    Meeting.objects.create(
        council=manan.council,
        starts_at=starts + dt.timedelta(days=10),
        notice_due_at=starts,
    )
    issue = factories.issue(manan, actor=manan_staff, title="楼道堆物")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    item = AgendaItem.objects.create(meeting=meeting, issue=issue, position=0)
    spare = factories.issue(manan, actor=manan_staff, title="备用")
    return {"meeting": meeting, "item": item, "spare": spare}


def meeting_edit_urls(data) -> list[tuple[str, dict]]:
    m, i = data["meeting"].pk, data["item"].pk
    return [
        (reverse("meetings:agenda_move", args=[m, i]), {"direction": "down"}),
        (reverse("meetings:agenda_remove", args=[m, i]), {}),
        (reverse("meetings:agenda_restore", args=[m, i]), {}),
        (reverse("meetings:agenda_defer", args=[m, i]), {}),
        (reverse("meetings:agenda_add_issue", args=[m]), {"add-issue-issue": data["spare"].pk}),
        (reverse("meetings:agenda_add_topic", args=[m]), {"add-topic-topic": "入侵"}),
        (reverse("meetings:close", args=[m]), {}),
        (reverse("meetings:cancel", args=[m]), {"cancel-reason": "入侵"}),
        (
            reverse("meetings:move", args=[m]),
            {"move-date": "2026-12-30", "move-time": "15:00", "move-reason": "入侵"},
        ),
        (reverse("meetings:mine_sign_in", args=[m]), {}),
    ]


def meeting_snapshot() -> tuple:
    return (
        list(
            Meeting.objects.order_by("id").values_list(
                "id", "state", "ended_at", "starts_at", "move_reason"
            )
        ),
        list(
            AgendaItem.objects.order_by("id").values_list(
                "id", "meeting_id", "position", "removed_at", "moved_to_id"
            )
        ),
        Attendance.objects.count(),
    )


@pytest.mark.outsider(
    "meetings:agenda_move",
    "meetings:agenda_remove",
    "meetings:agenda_restore",
    "meetings:agenda_defer",
    "meetings:agenda_add_issue",
    "meetings:agenda_add_topic",
    "meetings:close",
    "meetings:cancel",
    "meetings:move",
    "meetings:mine_sign_in",
)
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin", "city_handler"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_get_404_on_running_another_communitys_meeting(
    request, outsider, htmx, manan_meeting, as_user
):
    client = as_user(request.getfixturevalue(outsider))
    before = meeting_snapshot()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for url, payload in meeting_edit_urls(manan_meeting):
        response = client.post(url, payload, **headers)
        assert response.status_code == 404, (url, response.status_code)
    assert meeting_snapshot() == before


@pytest.mark.outsider(
    "meetings:agenda_move",
    "meetings:agenda_remove",
    "meetings:agenda_restore",
    "meetings:agenda_defer",
    "meetings:decide",
)
def test_an_item_of_another_communitys_meeting_under_ones_own_is_404(
    manan_meeting, xingfu, xingfu_staff, as_user
):
    starts = timezone.now() + dt.timedelta(days=1)
    own = Meeting.objects.create(
        council=xingfu.council, starts_at=starts, notice_due_at=starts - dt.timedelta(days=1)
    )
    foreign_item = manan_meeting["item"].pk
    client = as_user(xingfu_staff)
    before = meeting_snapshot()
    for name in ("agenda_move", "agenda_remove", "agenda_restore", "agenda_defer", "decide"):
        url = reverse(f"meetings:{name}", args=[own.pk, foreign_item])
        assert client.post(url, {"direction": "up"}).status_code == 404, name
    assert meeting_snapshot() == before


def test_anonymous_visitors_cannot_run_meetings(manan_meeting, client):
    login = reverse("login")
    before = meeting_snapshot()
    for url, payload in meeting_edit_urls(manan_meeting):
        response = client.post(url, payload)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url
    assert client.get(reverse("meetings:mine"))["Location"].startswith(login)
    assert meeting_snapshot() == before
