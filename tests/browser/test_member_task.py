"""A council member reports the council's own task done from a phone, with a photo, and the
community's staff confirm it: the matter is resolved and its follow-up review booked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from issues.actions import handling
from issues.models import Event, FollowUpReview, Issue, Photo, TaskReport
from members.models import Role
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_member_reports_the_task_done_with_a_photo_and_staff_confirm_it(
    transactional_db, manan, manan_staff, live_server, media, open_tab, log_in, artefacts, tmp_path
):
    url = live_server.url
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    term = factories.council_member(manan, factories.resident(manan, "李秀英"))
    member = factories.user("li_member", display_name="李秀英")
    factories.role(member, Role.Kind.COUNCIL_MEMBER, council_member=term)
    issue = factories.issue(manan, actor=manan_staff, title="3栋楼道堆物", place="3栋1单元")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="decide")
    handling.issue_assign(
        issue=issue,
        actor=manan_staff,
        members=[term],
        due_on=timezone.localdate() + dt.timedelta(days=5),
    )
    original = tmp_path / "IMG_2001.jpg"
    Image.new("RGB", (3000, 2250), (120, 160, 90)).save(original, "JPEG", quality=92)

    # The member, on a phone: 我的任务 from the navigation, the task, the work done.
    phone = open_tab(PHONE_WIDTH)
    page = phone.page
    log_in(page, "li_member")
    page.locator(f"a[href='{reverse('issues:my_tasks')}']").first.click()
    expect(page.locator("main h1")).to_have_text("我的任务")
    page.locator("#to-do a", has_text="3栋楼道堆物").click()
    expect(page.locator("main h1")).to_have_text("3栋楼道堆物")
    assert not scrolls_sideways(page)
    form = page.locator("form[data-issue-form]")
    form.locator("textarea[name=note]").fill("和两位邻居一起把杂物全部清走了")
    form.locator("input[name=photos]").set_input_files(original)
    expect(form.locator("[data-photo-status]")).to_have_attribute("data-state", "ready")
    page.screenshot(path=screenshots / "member-task-360.png", full_page=True)
    with page.expect_navigation():
        form.get_by_role("button", name="报告已完成").click()
    expect(page.locator(".messages .message")).to_contain_text("已报告完成")
    expect(page.locator("#pending")).to_contain_text("和两位邻居一起把杂物全部清走了")
    assert not scrolls_sideways(page)

    report = TaskReport.objects.get(issue=issue)
    assert (report.state, report.reported_by) == ("pending", member)
    photo = Photo.objects.get(issue=issue, kind=Photo.Kind.COMPLETION)
    assert max(photo.width, photo.height) <= 1600  # shrunk on the phone, checked on the server

    # The staff member, also on a phone: the task waits for them under 我的任务.
    staff = open_tab(PHONE_WIDTH)
    desk = staff.page
    log_in(desk, "manan_staff")
    desk.goto(url + reverse("issues:my_tasks"))
    desk.locator("#to-confirm a", has_text="3栋楼道堆物").click()
    expect(desk.locator("#pending img")).to_have_count(0)  # photos are with the progress below
    expect(desk.locator("#task-timeline img")).to_have_count(1)
    desk.screenshot(path=screenshots / "member-task-confirm-360.png", full_page=True)
    with desk.expect_navigation():
        desk.get_by_role("button", name="确认完成").click()
    expect(desk.locator(".messages .message")).to_contain_text("已确认")
    assert not scrolls_sideways(desk)

    issue.refresh_from_db()
    assert issue.status == Issue.Status.RESOLVED
    assert FollowUpReview.objects.filter(issue=issue, state="pending").count() == 1
    assert issue.events.filter(kind=Event.Kind.TASK_CONFIRMED, actor=manan_staff).exists()

    # The member sees the task closed.
    page.reload()
    expect(page.locator("main")).to_contain_text("这项任务已结束")
    assert phone.problems == [] and staff.problems == []
