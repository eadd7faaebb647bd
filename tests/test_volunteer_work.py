"""Work from matters: a council decides residents solve a matter themselves, a team's
activity does the work, and closing the activity reports it on the matter (志愿服务 · 议事)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from issues.models import Event, Photo
from tests.helpers import volunteers as build
from tests.helpers.clock import local
from tests.helpers.photos import jpeg
from volunteers.actions import activities, matters
from volunteers.models import Activity, ActivityPhoto, Attendance, HoursEntry
from volunteers.refusals import VolunteerRefusal

MEETING = local(2026, 11, 18, 10, 30)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def as_user(as_user, settings):
    """Signed in, reading the pages in English."""

    def signed_in(user):
        client = as_user(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return signed_in


@pytest.fixture
def bees(manan, manan_staff):
    return build.team(manan, manan_staff, name="小蜜蜂")


@pytest.fixture
def wang(bees, manan_staff):
    """王秀兰 leads 小蜜蜂 with an account of her own."""
    return build.volunteer(bees, manan_staff, "王秀兰", account="wang_volunteer", leader=True)


@pytest.fixture
def chen(bees, manan_staff):
    return build.volunteer(bees, manan_staff, "陈桂芳", account="chen_volunteer")


def decided(community, staff, outcome: str):
    return build.decided_matter(community, staff, outcome, at=MEETING)


@pytest.fixture
def lane(manan, manan_staff):
    return decided(manan, manan_staff, "solve_by_council")


def plan(client, issue, team, **fields):
    data = {
        "team": team.pk,
        "title": "清理二巷",
        "place": "二巷东口",
        "day": "2026-11-21",
        "starts": "09:00",
        "ends": "11:00",
        "headcount": "4",
        **fields,
    }
    return client.post(reverse("volunteers:matter_activity_create", args=[issue.pk]), data)


def work_events(issue) -> list[Event]:
    return list(issue.events.filter(kind=Event.Kind.VOLUNTEER_WORK))


# --- From the decision to the matter's timeline ---------------------------------------------


@pytest.mark.usefixtures("clear_cache")  # a fresh throttle for the public tracking page
def test_a_decided_matter_becomes_an_activity_whose_closing_reports_the_work_once(
    as_user, clock, manan_staff, lane, bees, wang, chen
):
    staff = as_user(manan_staff)
    page = staff.get(reverse("issues:detail", args=[lane.pk])).content.decode()
    create_url = reverse("volunteers:matter_activity_create", args=[lane.pk])
    assert create_url in page  # the matter offers the staff to plan the work

    form = staff.get(create_url).content.decode()
    assert 'value="二巷杂物堆积"' in form and 'value="二巷东口"' in form  # prefilled
    response = plan(staff, lane, bees)
    activity = Activity.objects.get(issue=lane)
    assert response.status_code == 302 and response.url == reverse(
        "volunteers:activity", args=[activity.pk]
    )
    assert (activity.team, activity.title, activity.place) == (bees, "清理二巷", "二巷东口")

    # 王 (leader) 08:55–11:20 → capped at 120 minutes; 陈 09:10–10:40 → 90 minutes.
    for volunteer, (a, b) in ((wang, ((8, 55), (11, 20))), (chen, ((9, 10), (10, 40)))):
        attendance = activities.activity_sign_up(activity=activity, volunteer=volunteer,
                                                 actor=manan_staff)  # fmt: skip
        activities.attendance_sign_in(attendance=attendance, actor=manan_staff,
                                      at=local(2026, 11, 21, *a))  # fmt: skip
        activities.attendance_sign_out(attendance=attendance, actor=manan_staff,
                                       at=local(2026, 11, 21, *b))  # fmt: skip
    leader = as_user(wang.user)
    leader.post(reverse("volunteers:photos", args=[activity.pk]),
                {"photos": [jpeg(name="before.jpg"), jpeg(name="after.jpg")]})  # fmt: skip
    assert ActivityPhoto.objects.filter(activity=activity).count() == 2

    clock.move_to(local(2026, 11, 21, 12, 0))
    leader, staff = as_user(wang.user), as_user(manan_staff)  # a new day, a new sign-in
    closed = leader.post(reverse("volunteers:close", args=[activity.pk]), follow=True)
    assert "The activity is closed and its work is reported" in closed.content.decode()
    leader.post(reverse("volunteers:close", args=[activity.pk]))  # closing twice adds nothing
    activities.activity_close(activity=activity, actor=manan_staff)

    [event] = work_events(lane)
    assert event.actor == wang.user and event.is_public
    data = event.data
    assert (data["minutes"], data["volunteers"], data["team"]) == (210, 2, "小蜜蜂")
    assert sorted(HoursEntry.objects.filter(attendance__activity=activity)
                  .values_list("minutes", flat=True)) == [90, 120]  # fmt: skip
    assert Photo.objects.filter(issue=lane).count() == 2

    page = staff.get(reverse("issues:detail", args=[lane.pk])).content.decode()
    assert "volunteers did the work: 小蜜蜂, 2 volunteers, 3 h 30 min in total" in page
    assert page.count("volunteers did the work") == 1
    for photo in Photo.objects.filter(issue=lane):
        assert reverse("issues:photo", args=[lane.pk, photo.pk]) in page
        assert staff.get(reverse("issues:photo", args=[lane.pk, photo.pk])).status_code == 200
    assert "work reported" in page
    # The resident who reported it follows the work on the public tracking page.
    tracking = Client().get(reverse("public:track_issue", args=[lane.tracking_code]),
                            HTTP_ACCEPT_LANGUAGE="en").content.decode()  # fmt: skip
    assert "小蜜蜂, 2 volunteers, 3 h 30 min in total" in tracking and "清理二巷" in tracking
    # The matter is linked from the activity for the staff, not for a leader who cannot open it.
    matter = reverse("issues:detail", args=[lane.pk])
    activity_url = reverse("volunteers:activity", args=[activity.pk])
    assert matter in staff.get(activity_url).content.decode()
    assert matter not in leader.get(activity_url).content.decode()


def test_closing_with_a_volunteer_still_signed_in_is_refused_and_writes_nothing(
    clock, manan_staff, lane, bees, wang, chen
):
    activity = activities.activity_create(
        team=bees, title="清理二巷", place="二巷", starts_at=local(2026, 11, 18, 11, 0),
        ends_at=local(2026, 11, 18, 13, 0), headcount=3, actor=manan_staff, issue=lane,
    )  # fmt: skip
    clock.move_to(local(2026, 11, 18, 11, 30))
    for volunteer in (wang, chen):
        attendance = activities.activity_sign_up(activity=activity, volunteer=volunteer,
                                                 actor=manan_staff)  # fmt: skip
        activities.attendance_sign_in(attendance=attendance, actor=manan_staff)
    activities.attendance_sign_out(attendance=Attendance.objects.get(volunteer=wang),
                                   actor=manan_staff)  # fmt: skip
    with pytest.raises(VolunteerRefusal, match="Still signed in: 陈桂芳"):
        activities.activity_close(activity=activity, actor=wang.user)
    activity.refresh_from_db()
    assert activity.closed_at is None and work_events(lane) == []
    assert not HoursEntry.objects.exists()


def test_a_closed_activity_takes_no_more_sign_ins(clock, manan_staff, lane, bees, wang):
    activity = activities.activity_create(
        team=bees, title="清理二巷", place="二巷", starts_at=local(2026, 11, 18, 9, 0),
        ends_at=local(2026, 11, 18, 12, 0), headcount=3, actor=manan_staff,
    )  # fmt: skip
    activities.activity_close(activity=activity, actor=manan_staff)
    with pytest.raises(VolunteerRefusal, match="This activity is closed"):
        activities.activity_sign_up(activity=activity, volunteer=wang, actor=manan_staff)
    assert not Attendance.objects.exists()


@pytest.mark.parametrize("outcome", ["refer_to_community", "escalate_to_street", "defer"])
def test_only_a_matter_residents_solve_themselves_becomes_volunteer_work(
    as_user, manan, manan_staff, bees, outcome
):
    issue = decided(manan, manan_staff, outcome)
    client = as_user(manan_staff)
    url = reverse("volunteers:matter_activity_create", args=[issue.pk])
    assert url not in client.get(reverse("issues:detail", args=[issue.pk])).content.decode()
    assert client.get(url).status_code == 404
    assert plan(client, issue, bees).status_code == 404
    with pytest.raises(VolunteerRefusal, match="residents solve themselves"):
        matters.check_for_residents(issue, bees)
    assert not Activity.objects.exists()


def test_another_communitys_team_is_refused_with_what_was_typed_kept(
    as_user, manan_staff, lane, xingfu_staff
):
    other = build.team(xingfu_staff.roles.get().community, xingfu_staff, name="外社区队")
    response = plan(as_user(manan_staff), lane, other, title="我写的标题")
    assert response.status_code == 422
    assert "我写的标题" in response.content.decode()
    assert not Activity.objects.exists()


def test_a_council_member_sees_the_work_but_may_not_plan_it(
    as_user, manan_member, manan_staff, lane, bees
):
    activity = activities.activity_create(
        team=bees, title="清理二巷", place="二巷", starts_at=local(2026, 11, 21, 9, 0),
        ends_at=local(2026, 11, 21, 11, 0), headcount=3, actor=manan_staff, issue=lane,
    )  # fmt: skip
    client = as_user(manan_member)
    url = reverse("volunteers:matter_activity_create", args=[lane.pk])
    page = client.get(reverse("issues:detail", args=[lane.pk])).content.decode()
    assert "小蜜蜂</bdi> · 清理二巷" in page
    # No link to a page the member cannot open, nor to planning.
    assert url not in page and reverse("volunteers:activity", args=[activity.pk]) not in page
    assert client.get(url).status_code == 403


@pytest.mark.outsider(
    "volunteers:matter_activity_create",
    "volunteers:close",
    "volunteers:photos",
    "volunteers:photo",
)
@pytest.mark.parametrize("htmx", [False, True])
def test_outsiders_get_404_on_the_work_from_a_matter(
    htmx, as_user, manan_staff, xingfu_staff, other_admin, lane, bees, wang
):
    activity = activities.activity_create(
        team=bees, title="清理二巷", place="二巷", starts_at=local(2026, 11, 18, 9, 0),
        ends_at=local(2026, 11, 18, 12, 0), headcount=3, actor=manan_staff, issue=lane,
    )  # fmt: skip
    [photo] = activities.activity_photos_add(activity=activity, actor=manan_staff,
                                             uploads=[jpeg()])  # fmt: skip
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for outsider in (xingfu_staff, other_admin):
        client = as_user(outsider)
        for url in (
            reverse("volunteers:matter_activity_create", args=[lane.pk]),
            reverse("volunteers:photo", args=[activity.pk, photo.pk]),
        ):
            assert client.get(url, **headers).status_code == 404, (outsider, url)
        assert plan(client, lane, bees).status_code == 404
        for name in ("volunteers:close", "volunteers:photos"):
            url = reverse(name, args=[activity.pk])
            assert client.post(url, {"photos": [jpeg()]}, **headers).status_code == 404
    activity.refresh_from_db()
    assert activity.closed_at is None and work_events(lane) == []
    assert ActivityPhoto.objects.count() == 1 and Activity.objects.count() == 1


def test_a_file_that_is_no_photo_is_refused_and_nothing_is_kept(as_user, manan_staff, bees, wang):
    activity = activities.activity_create(
        team=bees, title="清理二巷", place="二巷", starts_at=local(2026, 11, 18, 9, 0),
        ends_at=local(2026, 11, 18, 12, 0), headcount=3, actor=manan_staff,
    )  # fmt: skip
    bad = SimpleUploadedFile("lane.jpg", b"not a photo at all", content_type="image/jpeg")
    response = as_user(wang.user).post(
        reverse("volunteers:photos", args=[activity.pk]), {"photos": [jpeg(), bad]}
    )
    assert response.status_code == 422
    assert "is not a photo we can read" in response.content.decode()
    assert not ActivityPhoto.objects.exists()


@pytest.mark.object_store
def test_a_photo_the_store_cannot_take_is_refused_with_a_message_and_nothing_is_kept(
    as_user, manan_staff, bees, wang, store_unreachable
):
    activity = activities.activity_create(
        team=bees, title="清理二巷", place="二巷", starts_at=local(2026, 11, 18, 9, 0),
        ends_at=local(2026, 11, 18, 12, 0), headcount=3, actor=manan_staff,
    )  # fmt: skip
    response = as_user(wang.user).post(
        reverse("volunteers:photos", args=[activity.pk]), {"photos": [jpeg()]}
    )
    assert response.status_code == 422
    assert "The photo could not be stored just now. Please try the photo again" in (
        response.content.decode()
    )
    assert not ActivityPhoto.objects.exists()


def test_an_activity_is_not_closed_before_it_starts(clock, manan_staff, lane, bees):
    activity = activities.activity_create(
        team=bees, title="清理二巷", place="二巷", starts_at=local(2026, 11, 19, 9, 0),
        ends_at=local(2026, 11, 19, 11, 0), headcount=3, actor=manan_staff, issue=lane,
    )  # fmt: skip
    with pytest.raises(VolunteerRefusal, match="has not started yet"):
        activities.activity_close(activity=activity, actor=manan_staff)
    activity.refresh_from_db()
    assert activity.closed_at is None and work_events(lane) == []
