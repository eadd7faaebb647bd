"""A council member's own tasks: a matter the council solves itself, its members' progress
and report of the work done from a phone, and its confirmation or return by the community's
staff or the council's leader; overdue reminders to the members."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from issues import queries
from issues.actions import handling, member_tasks
from issues.models import Event, FollowUpReview, Issue, Photo, TaskReport
from issues.tasks import notify_overdue_issues
from members.models import CouncilMember, Notice, Role
from tests import factories
from tests.helpers.photos import jpeg

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def member_account(community, username: str, name: str, role=CouncilMember.Role.MEMBER):
    term = factories.council_member(community, factories.resident(community, name), role=role)
    account = factories.user(username, display_name=name)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return term, account


@pytest.fixture
def li(manan):
    """李秀英, a council member of 马南社区 (not its leader), with an account."""
    return member_account(manan, "li_member", "李秀英")


@pytest.fixture
def zhao(manan):
    """赵大爷, another member of the same council, not assigned to the task."""
    return member_account(manan, "zhao_member", "赵大爷")


def council_task(community, actor, members, *, title="楼道堆物清理", due_days=7) -> Issue:
    """A matter the council decided to solve itself, with ``members`` assigned."""
    issue = factories.issue(community, actor=actor, title=title, place="3栋")
    issue = handling.issue_transition(issue=issue, actor=actor, name="accept")
    issue = handling.issue_transition(issue=issue, actor=actor, name="decide")
    return handling.issue_assign(
        issue=issue,
        actor=actor,
        members=members,
        due_on=timezone.localdate() + dt.timedelta(days=due_days),
    )


@pytest.fixture
def task(manan, manan_staff, li, media):
    return council_task(manan, manan_staff, [li[0]])


def big_photo(name="work.jpg"):
    return jpeg((3200, 2400), name=name, gps=True)


def snapshot(issue: Issue) -> tuple:
    issue.refresh_from_db()
    return (
        issue.status,
        issue.version,
        issue.events.count(),
        issue.photos.count(),
        TaskReport.objects.filter(issue=issue).count(),
        Notice.objects.count(),
    )


# --- 我的任务 --------------------------------------------------------------------------------


def test_an_assigned_member_finds_the_task_under_my_tasks(as_user, task, li, zhao, manan_staff):
    other = council_task(task.community, manan_staff, [zhao[0]], title="别人的任务")
    client = as_user(li[1])

    home = client.get(reverse("members:me"), **EN)
    assert reverse("issues:my_tasks").encode() in home.content  # in the navigation

    page = client.get(reverse("issues:my_tasks"), **EN)
    assert page.status_code == 200
    text = page.content.decode()
    assert "楼道堆物清理" in text and reverse("issues:task", args=[task.pk]) in text
    assert "别人的任务" not in text and reverse("issues:task", args=[other.pk]) not in text
    assert queries.member_tasks_open_count(li[1]) == 1
    assert queries.member_tasks_open_count(manan_staff) == 0


def test_assigning_members_tells_them_of_their_task(task, li):
    notice = Notice.objects.get(kind="task_assigned")
    assert notice.recipient == li[1]
    assert notice.context["issue_id"] == task.pk


# --- Progress and the work done, from the phone ------------------------------------------------


def test_a_member_posts_progress_with_photos_resized_before_storage(as_user, task, li):
    client = as_user(li[1])
    response = client.post(
        reverse("issues:task_progress", args=[task.pk]),
        {"note": "已清走一半杂物", "photos": [big_photo()]},
        **EN,
    )
    assert response.status_code == 302

    photo = Photo.objects.get(issue=task, kind=Photo.Kind.PROGRESS)
    with Image.open(photo.image.path) as stored:
        assert max(stored.size) == 1600
        assert not stored.getexif()  # no GPS, no camera data
    event = task.events.get(kind=Event.Kind.TASK_PROGRESS)
    assert (event.actor, event.note, event.data["photos"]) == (li[1], "已清走一半杂物", [photo.pk])
    task.refresh_from_db()
    assert task.status == Issue.Status.IN_PROGRESS  # the work started: on the timeline too
    assert task.events.filter(kind=Event.Kind.STATUS, to_value="in_progress", actor=li[1]).exists()

    page = client.get(reverse("issues:task", args=[task.pk]), **EN)
    assert "已清走一半杂物" in page.content.decode()
    assert reverse("issues:photo", args=[task.pk, photo.pk]) in page.content.decode()


def test_a_member_reports_the_work_done_and_the_confirmers_are_told(
    as_user, task, li, manan_staff, manan_member
):
    client = as_user(li[1])
    response = client.post(
        reverse("issues:task_done", args=[task.pk]),
        {"note": "杂物已全部清走", "photos": [big_photo("done.jpg")]},
        **EN,
    )
    assert response.status_code == 302

    report = TaskReport.objects.get(issue=task)
    assert (report.state, report.reported_by, report.note) == ("pending", li[1], "杂物已全部清走")
    done = task.events.get(kind=Event.Kind.TASK_DONE)
    assert done.actor == li[1] and done.note == "杂物已全部清走"
    assert Photo.objects.get(pk=done.data["photos"][0]).kind == Photo.Kind.COMPLETION
    told = Notice.objects.filter(kind="task_done_reported")
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "manan_member",  # the council's leader
        "manan_staff",
    ]
    assert {n.context["issue_id"] for n in told} == {task.pk}
    # No longer waiting for the member: the count drops, the list shows it as waiting.
    assert queries.member_tasks_open_count(li[1]) == 0
    page = client.get(reverse("issues:my_tasks"), **EN).content.decode()
    assert "waiting for confirmation" in page


def test_reporting_done_needs_a_word_of_what_was_done(as_user, task, li):
    before = snapshot(task)
    response = as_user(li[1]).post(
        reverse("issues:task_done", args=[task.pk]), {"note": "  "}, **EN
    )
    assert response.status_code == 422
    assert "Say what was done." in response.content.decode()
    assert snapshot(task) == before


def test_a_member_not_assigned_is_refused_and_nothing_is_written(as_user, task, zhao, manan_staff):
    before = snapshot(task)
    for name in ("issues:task_done", "issues:task_progress"):
        response = as_user(zhao[1]).post(
            reverse(name, args=[task.pk]), {"note": "我来报完成", "photos": [jpeg()]}, **EN
        )
        assert response.status_code == 403
        assert (
            "Only the council members assigned to this task can report on it."
            in response.content.decode()
        )
    # Staff are not the task's members either.
    response = as_user(manan_staff).post(
        reverse("issues:task_done", args=[task.pk]), {"note": "代报"}, **EN
    )
    assert response.status_code == 403
    assert snapshot(task) == before


def test_the_refusal_is_in_chinese_for_chinese_readers(as_user, task, zhao):
    response = as_user(zhao[1]).post(
        reverse("issues:task_done", args=[task.pk]),
        {"note": "我来报完成"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 403
    assert "只有分配到这项任务的议事会成员才能报告" in response.content.decode()


def test_the_action_refuses_a_member_not_assigned(task, zhao):
    with pytest.raises(member_tasks.NotYourTask):
        member_tasks.task_report_done(issue=task, actor=zhao[1], note="完成")
    assert not TaskReport.objects.exists()


# --- Confirm or return --------------------------------------------------------------------


def reported(task, member):
    return member_tasks.task_report_done(issue=task, actor=member, note="杂物已全部清走")


@pytest.mark.parametrize("confirmer", ["manan_staff", "manan_member"])
def test_staff_or_the_council_leader_confirm_and_the_review_is_booked(
    request, as_user, task, li, confirmer
):
    reported(task, li[1])
    person = request.getfixturevalue(confirmer)
    response = as_user(person).post(reverse("issues:task_confirm", args=[task.pk]), **EN)
    assert response.status_code == 302

    task.refresh_from_db()
    assert task.status == Issue.Status.RESOLVED and task.resolved_at is not None
    review = FollowUpReview.objects.get(issue=task)
    assert review.state == FollowUpReview.State.PENDING
    assert review.due_at == task.resolved_at + dt.timedelta(days=7)
    assert TaskReport.objects.get(issue=task).state == TaskReport.State.CONFIRMED
    confirmed = task.events.get(kind=Event.Kind.TASK_CONFIRMED)
    assert confirmed.actor == person
    assert task.events.filter(kind=Event.Kind.STATUS, to_value="resolved", actor=person).exists()
    notice = Notice.objects.get(kind="task_confirmed")
    assert (notice.recipient, notice.context["issue_id"]) == (li[1], task.pk)
    assert queries.member_tasks(li[1]).count() == 0


def test_a_plain_member_may_not_confirm(as_user, task, li, zhao):
    reported(task, li[1])
    before = snapshot(task)
    response = as_user(zhao[1]).post(reverse("issues:task_confirm", args=[task.pk]))
    assert response.status_code == 403
    response = as_user(zhao[1]).post(reverse("issues:task_return", args=[task.pk]), {"reason": "x"})
    assert response.status_code == 403
    assert snapshot(task) == before


def test_the_leader_does_not_confirm_their_own_report(
    as_user, manan, manan_staff, manan_member, manan_leader_term, media
):
    own = council_task(manan, manan_staff, [manan_leader_term])
    reported(own, manan_member)
    before = snapshot(own)
    response = as_user(manan_member).post(
        reverse("issues:task_confirm", args=[own.pk]), follow=True, **EN
    )
    assert "Someone else must confirm the work you reported yourself." in response.content.decode()
    assert snapshot(own) == before


def test_return_with_a_reason_opens_the_task_again(as_user, task, li, manan_staff):
    reported(task, li[1])
    response = as_user(manan_staff).post(
        reverse("issues:task_return", args=[task.pk]), {"reason": "三楼楼道还有两袋杂物"}, **EN
    )
    assert response.status_code == 302

    report = TaskReport.objects.get(issue=task)
    assert (report.state, report.return_reason, report.decided_by) == (
        "returned",
        "三楼楼道还有两袋杂物",
        manan_staff,
    )
    returned = task.events.get(kind=Event.Kind.TASK_RETURNED)
    assert (returned.actor, returned.note) == (manan_staff, "三楼楼道还有两袋杂物")
    notice = Notice.objects.get(kind="task_returned")
    assert notice.recipient == li[1]
    assert notice.context["issue_id"] == task.pk
    assert notice.context["reason"] == "三楼楼道还有两袋杂物"
    task.refresh_from_db()
    assert task.is_open

    # The member sees why, and the task is theirs to do again.
    assert queries.member_tasks_open_count(li[1]) == 1
    client = as_user(li[1])
    assert "三楼楼道还有两袋杂物" in client.get(reverse("issues:my_tasks")).content.decode()
    page = client.get(reverse("issues:task", args=[task.pk]), **EN).content.decode()
    assert "三楼楼道还有两袋杂物" in page and reverse("issues:task_done", args=[task.pk]) in page
    reported(task, li[1])  # and can report it done again
    assert TaskReport.objects.filter(issue=task, state="pending").count() == 1


def test_returning_without_a_reason_is_a_form_error(as_user, task, li, manan_staff):
    reported(task, li[1])
    before = snapshot(task)
    response = as_user(manan_staff).post(
        reverse("issues:task_return", args=[task.pk]), {"reason": "   "}, **EN
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Say why the work goes back, so the members know what to do." in text
    assert 'name="reason"' in text
    assert snapshot(task) == before
    assert TaskReport.objects.get(issue=task).state == "pending"


def test_a_second_answer_to_the_same_report_is_refused(task, li, manan_staff, manan_member):
    reported(task, li[1])
    member_tasks.task_return(issue=task, actor=manan_staff, reason="还差一点")
    with pytest.raises(member_tasks.IssueActionError):
        member_tasks.task_confirm(issue=task, actor=manan_member)
    task.refresh_from_db()
    assert task.is_open and not FollowUpReview.objects.filter(issue=task).exists()


def test_the_issue_page_points_staff_to_the_report(as_user, task, li, manan_staff):
    reported(task, li[1])
    page = as_user(manan_staff).get(reverse("issues:detail", args=[task.pk]), **EN)
    text = page.content.decode()
    assert reverse("issues:task", args=[task.pk]) in text
    assert "waits for confirmation" in text
    to_confirm = as_user(manan_staff).get(reverse("issues:my_tasks"), **EN).content.decode()
    assert reverse("issues:task", args=[task.pk]) in to_confirm


# --- Overdue reminders ---------------------------------------------------------------------


def test_overdue_tasks_remind_their_members_once_a_day(task, li, manan_staff):
    Issue.objects.filter(pk=task.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))

    assert notify_overdue_issues.delay().get() == 1
    assert notify_overdue_issues.delay().get() == 0  # a second beat tick sends nothing

    notice = Notice.objects.get(kind="task_overdue")
    assert (notice.recipient, notice.context["issue_id"]) == (li[1], task.pk)
    assert not Notice.objects.filter(kind="issue_overdue", recipient=li[1]).exists()
    assert task.events.filter(kind=Event.Kind.OVERDUE).count() == 1


def test_a_task_reported_done_does_not_remind_its_members(task, li):
    reported(task, li[1])
    Issue.objects.filter(pk=task.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    notify_overdue_issues.delay().get()
    assert not Notice.objects.filter(kind__in=["task_overdue", "issue_overdue"], recipient=li[1])


# --- Tenancy ---------------------------------------------------------------------------------


@pytest.mark.outsider(
    "issues:task",
    "issues:task_progress",
    "issues:task_done",
    "issues:task_confirm",
    "issues:task_return",
)
@pytest.mark.parametrize("htmx", [False, True])
def test_outsiders_get_404_and_nothing_changes(as_user, task, li, xingfu_staff, other_admin, htmx):
    reported(task, li[1])
    before = snapshot(task)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for person in (xingfu_staff, other_admin):
        client = as_user(person)
        assert client.get(reverse("issues:task", args=[task.pk]), **headers).status_code == 404
        for name, data in [
            ("issues:task_progress", {"note": "闯入"}),
            ("issues:task_done", {"note": "闯入"}),
            ("issues:task_confirm", {}),
            ("issues:task_return", {"reason": "闯入"}),
        ]:
            response = client.post(reverse(name, args=[task.pk]), data, **headers)
            assert response.status_code == 404, name
    assert snapshot(task) == before


def test_a_matter_without_a_council_task_has_no_task_page(as_user, manan, manan_staff):
    plain = factories.issue(manan, actor=manan_staff)
    assert as_user(manan_staff).get(reverse("issues:task", args=[plain.pk])).status_code == 404


# --- Query counts ------------------------------------------------------------------------------


def many_tasks(community, staff, members, count: int) -> None:
    for i in range(Issue.objects.filter(community=community).count(), count):
        issue = council_task(community, staff, members, title=f"任务{i}")
        if i % 3 == 0:
            member_tasks.task_report_done(issue=issue, actor=members[0].roles.get().user, note="完")
        elif i % 3 == 1:
            member_tasks.task_report_done(issue=issue, actor=members[0].roles.get().user, note="完")
            member_tasks.task_return(issue=issue, actor=staff, reason="再看看")


def queries_for(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# session, user with its unread count, roles; + tasks with their reports (1), tasks to confirm (1)
@pytest.mark.parametrize(("person", "pinned"), [("li", 5), ("manan_member", 5)])
def test_my_tasks_runs_the_same_queries_for_3_and_30_tasks(
    request, as_user, manan, manan_staff, li, manan_leader_term, media, person, pinned
):
    account = li[1] if person == "li" else request.getfixturevalue(person)
    client = as_user(account)
    url = reverse("issues:my_tasks")
    many_tasks(manan, manan_staff, [li[0], manan_leader_term], 3)
    few = queries_for(client, url)
    many_tasks(manan, manan_staff, [li[0], manan_leader_term], 30)
    assert few == queries_for(client, url) == pinned


# + the task, its assignees, its last report, its events, their photos; for a member the
# council-leader check (staff need none)
@pytest.mark.parametrize(("person", "pinned"), [("li", 9), ("manan_staff", 8)])
def test_the_task_page_runs_the_same_queries_however_long_its_story(
    request, as_user, task, li, manan_staff, person, pinned
):
    account = li[1] if person == "li" else request.getfixturevalue(person)
    client = as_user(account)
    url = reverse("issues:task", args=[task.pk])

    def grow(count: int) -> None:
        for i in range(count):
            member_tasks.task_progress(
                issue=task, actor=li[1], note=f"进展{i}", uploads=[jpeg(name=f"p{i}.jpg")]
            )

    grow(1)
    few = queries_for(client, url)
    grow(5)
    assert few == queries_for(client, url) == pinned


def test_a_must_deliberate_matter_not_yet_deliberated_is_not_confirmed(
    as_user, manan, manan_staff, li, media
):
    # 公共设施 is one of the ten must-deliberate categories: resolving waits for a meeting.
    issue = factories.issue(manan, actor=manan_staff, title="健身器材损坏", code="facilities")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    issue = handling.issue_assign(issue=issue, actor=manan_staff, members=[li[0]])
    reported(issue, li[1])
    before = snapshot(issue)

    response = as_user(manan_staff).post(
        reverse("issues:task_confirm", args=[issue.pk]), follow=True, **EN
    )

    assert "must-deliberate category" in response.content.decode()
    assert snapshot(issue) == before
    assert TaskReport.objects.get(issue=issue).state == "pending"
    assert not FollowUpReview.objects.filter(issue=issue).exists()


def test_a_task_sent_up_a_tier_shows_closed_and_takes_no_report(as_user, task, li, manan_staff):
    from issues.actions import escalations

    escalations.issue_escalate(issue=task, actor=manan_staff, reason="需要社区协调")
    client = as_user(li[1])
    page = client.get(reverse("issues:task", args=[task.pk]), **EN)
    assert page.status_code == 200
    assert "This task is closed." in page.content.decode()
    assert reverse("issues:task_done", args=[task.pk]) not in page.content.decode()
    assert queries.member_tasks_open_count(li[1]) == 0
    before = snapshot(task)
    response = client.post(reverse("issues:task_done", args=[task.pk]), {"note": "完成"}, **EN)
    assert response.status_code == 422
    assert "This task is no longer open" in response.content.decode()
    assert snapshot(task) == before
