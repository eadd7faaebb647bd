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


# --- Visiting teams: every URL of the visits app ---------------------------------------------


@pytest.fixture
def visits_data(nanen, manan, nanen_admin):
    """A team of 南恩街道 paired with 马南社区: a member, a household with a phone, a round
    with a thin building, a visit with a concern, a request a resident left."""
    from tests.helpers import visits as build
    from visits.actions import asked, rounds, teams, visiting
    from visits.models import Target

    leader, walker = build.cadre("v_leader"), build.cadre("v_walker")
    team = build.team(nanen, "马南走访队", leader=leader, members=[walker], communities=[manan],
                      admin=nanen_admin)  # fmt: skip
    resident = factories.resident(manan, "王阿姨", building="3栋", room="101", phone="13812345678")
    teams.building_set(actor=nanen_admin, team=team, community=manan, lane="", building="7栋",
                       flats=12)  # fmt: skip
    round_, _ = rounds.round_open(street=nanen, year=2026, quarter=4, today=dt.date(2026, 10, 1))
    visit = visiting.visit_record(
        actor=leader, team=team, resident=resident, kind="concentrated",
        visited_on=dt.date(2026, 10, 5), visitors=[], today=dt.date(2026, 10, 6),
        concerns=[{"title": "楼道堆物", "category": factories.category(nanen, "other"),
                   "description": ""}],
    )  # fmt: skip
    request = asked.asked_visit_create(community=manan, name="李", topic="加装电梯",
                                       phone="13900001111", phone_consent=True)  # fmt: skip
    return {
        "street": nanen.pk,
        "team": team.pk,
        "membership": team.memberships.get(user=walker).pk,
        "pairing": team.pairings.get().pk,
        "building_target": Target.objects.get(round=round_, resident__isnull=True).pk,
        "resident": resident.pk,
        "visit": visit.pk,
        "concern": visit.concerns.get().pk,
        "asked": request.pk,
    }


def visits_urls(d) -> dict[str, list[tuple[str, str, dict]]]:
    """Every URL of the visits app that takes an id, by name: (method, url, data)."""
    s, t = d["street"], d["team"]
    visit_data = {"resident": d["resident"], "kind": "thematic", "visited_on": "2026-10-05",
                  "notes": "入侵", "submission_key": "k"}  # fmt: skip
    return {
        "visits:street": [("get", reverse("visits:street", args=[s]), {})],
        "visits:team_new": [
            ("get", reverse("visits:team_new", args=[s]), {}),
            ("post", reverse("visits:team_new", args=[s]), {"name": "入侵队"}),
        ],
        "visits:team": [("get", reverse("visits:team", args=[t]), {})],
        "visits:team_edit": [("get", reverse("visits:team_edit", args=[t]), {})],
        "visits:member_add": [("post", reverse("visits:member_add", args=[t]), {})],
        "visits:member_leave": [
            ("post", reverse("visits:member_leave", args=[t, d["membership"]]), {})
        ],
        "visits:pairing_add": [("post", reverse("visits:pairing_add", args=[t]), {})],
        "visits:pairing_end": [("post", reverse("visits:pairing_end", args=[t, d["pairing"]]), {})],
        "visits:building_set": [
            ("post", reverse("visits:building_set", args=[t]), {"building": "9栋", "flats": "9"})
        ],
        "visits:building_visited": [
            ("post", reverse("visits:building_visited", args=[t, d["building_target"]]), {})
        ],
        "visits:visit_pick": [("get", reverse("visits:visit_pick", args=[t]), {"q": "王"})],
        "visits:visit_new": [
            ("get", reverse("visits:visit_new", args=[t]), {"resident": d["resident"]}),
            ("post", reverse("visits:visit_new", args=[t]), visit_data),
        ],
        "visits:household_phone": [
            ("post", reverse("visits:household_phone", args=[t, d["resident"]]), {})
        ],
        "visits:visit": [("get", reverse("visits:visit", args=[d["visit"]]), {})],
        "visits:review": [("get", reverse("visits:review", args=[s]), {})],
        "visits:review_pdf": [("get", reverse("visits:review_pdf", args=[s]), {})],
        "visits:review_thresholds": [
            ("get", reverse("visits:review_thresholds", args=[s]), {}),
            (
                "post",
                reverse("visits:review_thresholds", args=[s]),
                {"visited_percent": "1", "satisfied_percent": "1"},
            ),
        ],
        "visits:review_year": [("get", reverse("visits:review_year", args=[s]), {})],
        "visits:review_year_csv": [("get", reverse("visits:review_year_csv", args=[s]), {})],
        "visits:review_year_xlsx": [("get", reverse("visits:review_year_xlsx", args=[s]), {})],
        "visits:asked": [("get", reverse("visits:asked", args=[d["asked"]]), {})],
        "visits:asked_phone": [("post", reverse("visits:asked_phone", args=[d["asked"]]), {})],
        "visits:asked_schedule": [
            (
                "post",
                reverse("visits:asked_schedule", args=[d["asked"]]),
                {"when": "2026-12-21T09:30", "submission_key": "s"},
            ),
        ],
        "visits:asked_visit": [
            (
                "post",
                reverse("visits:asked_visit", args=[d["asked"]]),
                {"resident": d["resident"], "visited_on": "2026-10-05", "submission_key": "v"},
            ),
        ],
        "visits:return_new": [
            ("get", reverse("visits:return_new", args=[d["concern"]]), {}),
            (
                "post",
                reverse("visits:return_new", args=[d["concern"]]),
                {"visited_on": "2026-10-06", "notes": "入侵", "submission_key": "r"},
            ),
        ],
    }


def visits_snapshot() -> tuple:
    from members.models import ExportRecord
    from visits.models import (
        AskedPhoneReveal,
        AskedVisit,
        Building,
        Pairing,
        ReviewThresholds,
        Target,
        Team,
        TeamMember,
        Visit,
    )  # fmt: skip

    return (
        list(Team.objects.order_by("id").values_list("id", "name", "leader_id")),
        list(TeamMember.objects.order_by("id").values_list("id", "left_on")),
        list(Pairing.objects.order_by("id").values_list("id", "ended_on")),
        list(Building.objects.order_by("id").values_list("id", "flats")),
        list(Target.objects.order_by("id").values_list("id", "visited_on")),
        list(Visit.objects.order_by("id").values_list("id", "kind", "notes")),
        list(AskedVisit.objects.order_by("id").values_list("id", "state", "scheduled_for")),
        ReviewThresholds.objects.count(),
        PhoneReveal.objects.count(),
        AskedPhoneReveal.objects.count(),
        ExportRecord.objects.count(),
    )


VISITS_URL_NAMES = (
    "visits:street", "visits:team_new", "visits:team", "visits:team_edit", "visits:member_add",
    "visits:member_leave", "visits:pairing_add", "visits:pairing_end", "visits:building_set",
    "visits:building_visited", "visits:visit_pick", "visits:visit_new",
    "visits:household_phone", "visits:visit", "visits:review", "visits:review_pdf",
    "visits:review_thresholds", "visits:review_year", "visits:review_year_csv",
    "visits:review_year_xlsx", "visits:asked", "visits:asked_phone", "visits:asked_schedule",
    "visits:asked_visit", "visits:return_new",
)  # fmt: skip


def test_the_visits_outsider_test_names_every_url_of_the_visits_app(visits_data):
    from visits import urls

    assert {f"visits:{p.name}" for p in urls.urlpatterns} == set(VISITS_URL_NAMES)
    assert set(visits_urls(visits_data)) == set(VISITS_URL_NAMES)


@pytest.mark.outsider(
    "visits:street", "visits:team_new", "visits:team", "visits:team_edit", "visits:member_add",
    "visits:member_leave", "visits:pairing_add", "visits:pairing_end", "visits:building_set",
    "visits:building_visited", "visits:visit_pick", "visits:visit_new",
    "visits:household_phone", "visits:visit", "visits:review", "visits:review_pdf",
    "visits:review_thresholds", "visits:review_year", "visits:review_year_csv",
    "visits:review_year_xlsx", "visits:asked", "visits:asked_phone", "visits:asked_schedule",
    "visits:asked_visit", "visits:return_new",
)  # fmt: skip
@pytest.mark.parametrize("outsider", ["other_admin", "xingfu_staff", "another_team"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_outsiders_get_404_on_every_visits_url_and_change_nothing(
    request, outsider, htmx, visits_data, nanen, as_user
):
    """Another street's admin, a community's staff with no team, and the leader of another
    team of the same street: 404 everywhere, nothing written, no number shown."""
    if outsider == "another_team":
        from tests.helpers import visits as build

        who = build.team(nanen, "别的队", leader=build.cadre("another_leader")).leader
    else:
        who = request.getfixturevalue(outsider)
    before = visits_snapshot()
    client = as_user(who)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for name, calls in visits_urls(visits_data).items():
        for method, url, payload in calls:
            response = getattr(client, method)(url, payload, **headers)
            assert response.status_code == 404, (name, method, response.status_code)
            assert "13812345678" not in response.content.decode(errors="ignore")
    assert visits_snapshot() == before
