"""An issue climbs council → community → street office, a department handles it, it is resolved.

Each person works in their own browser (own cookies), through the pages and
forms they would use, on a phone and at a desk.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from issues.models import Escalation, Event, Issue, Photo
from tests import factories
from tests.browser.conftest import DESK_WIDTH, PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


def escalate(page, reason: str) -> None:
    form = page.locator("main form[action$='/escalate/']")
    form.locator("textarea[name=reason]").fill(reason)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESK_WIDTH])
def test_escalated_issue_is_handled_by_a_department_and_resolved(
    width,
    transactional_db,
    nanen,
    manan,
    manan_staff,
    nanen_admin,
    city_handler,
    live_server,
    media,
    open_tab,
    log_in,
    artefacts,
    tmp_path,
):
    url = live_server.url
    department = factories.department(nanen)  # the one city_handler works in
    issue = factories.issue(
        manan,
        actor=manan_staff,
        code="other",  # not one of the ten must-deliberate categories (see lifecycle.check)
        title="小区东门路灯坏了",
        description="东门三盏路灯都不亮，晚上出入不安全。",
        place="东门",
    )
    issue_path = reverse("issues:detail", args=[issue.pk])
    screenshots = artefacts / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    tabs = []

    # Community staff: council → community → street office, from the issue page.
    staff = open_tab(width)
    tabs.append(staff)
    log_in(staff.page, "manan_staff")
    staff.page.goto(url + issue_path)
    escalate(staff.page, "议事会协调不了，需要社区出面。")
    issue.refresh_from_db()
    assert issue.tier == Issue.Tier.COMMUNITY
    expect(staff.page.locator(".messages .message")).to_be_visible()
    escalate(staff.page, "路灯归街道管，请街道安排城管维修。")
    issue.refresh_from_db()
    assert issue.tier == Issue.Tier.STREET
    escalation = Escalation.objects.get(issue=issue)
    assert escalation.state == Escalation.State.PENDING
    # Nothing more to escalate from the community.
    expect(staff.page.locator("main form[action$='/escalate/']")).to_have_count(0)
    expect(staff.page.locator(".escalation")).to_be_visible()

    # Street admin: the queue, the item, accept with a department and a deadline.
    admin = open_tab(width)
    tabs.append(admin)
    log_in(admin.page, "nanen_admin")
    queue_url = url + reverse("issues:street_queue", args=[nanen.pk])
    admin.page.goto(queue_url)
    item = admin.page.locator(".issue-cards li", has_text="小区东门路灯坏了")
    expect(item).to_have_count(1)
    assert not scrolls_sideways(admin.page), f"the queue scrolls sideways at {width} px"
    admin.page.screenshot(path=screenshots / f"escalation-queue-{width}.png", full_page=True)
    item.locator("a").click()
    expect(admin.page).to_have_url(url + reverse("issues:escalation", args=[escalation.pk]))
    expect(admin.page.locator("main h1")).to_have_text("小区东门路灯坏了")
    expect(admin.page.locator("main")).to_contain_text("路灯归街道管，请街道安排城管维修。")
    assert not scrolls_sideways(admin.page), f"the escalation page scrolls sideways at {width} px"
    admin.page.screenshot(path=screenshots / f"escalation-{width}.png", full_page=True)
    deadline = timezone.localdate() + dt.timedelta(days=5)
    accept = admin.page.locator("main form", has=admin.page.locator("input[value=accept]"))
    accept.locator("select[name=department]").select_option(str(department.pk))
    accept.locator("input[name=deadline]").fill(deadline.isoformat())
    with admin.page.expect_navigation():
        accept.locator("button[type=submit]").click()
    # Back in the queue at the row just acted on (still open, now with its department).
    expect(admin.page).to_have_url(f"{queue_url}#escalation-{escalation.pk}")
    escalation.refresh_from_db()
    assert (escalation.state, escalation.department, escalation.deadline) == (
        Escalation.State.ACCEPTED,
        department,
        deadline,
    )
    issue.refresh_from_db()
    assert (issue.tier, issue.assigned_department, issue.status) == (
        Issue.Tier.DEPARTMENT,
        department,
        Issue.Status.IN_PROGRESS,
    )

    # Department handler: assigned work, the item, a reply with a completion photo.
    handler = open_tab(width)
    tabs.append(handler)
    log_in(handler.page, "city_handler")
    handler.page.goto(url + reverse("issues:work"))
    work_item = handler.page.locator(".issue-cards li", has_text="小区东门路灯坏了")
    expect(work_item).to_contain_text(deadline.isoformat())
    assert not scrolls_sideways(handler.page)
    work_item.locator("a").click()
    expect(handler.page).to_have_url(url + reverse("issues:reply", args=[escalation.pk]))
    reply_form = handler.page.locator("main form[data-issue-form]")
    reply_form.locator("textarea[name=reply]").fill("已更换三盏路灯，晚上试亮正常。")
    done = tmp_path / "done.jpg"
    Image.linear_gradient("L").resize((2400, 1800)).convert("RGB").save(done, quality=95)
    reply_form.locator("input[name=photos]").set_input_files(done)
    expect(reply_form.locator("[data-photo-status]")).to_have_attribute("data-state", "ready")
    assert not scrolls_sideways(handler.page)
    with handler.page.expect_navigation():
        reply_form.locator("button[type=submit]").click()
    expect(handler.page).to_have_url(url + reverse("issues:work"))
    escalation.refresh_from_db()
    assert escalation.state == Escalation.State.HANDLED
    assert escalation.reply == "已更换三盏路灯，晚上试亮正常。"
    completion = Photo.objects.get(issue=issue, kind=Photo.Kind.COMPLETION)
    assert max(completion.width, completion.height) <= 1600

    # Street admin confirms; the issue is resolved.
    admin.page.goto(queue_url)
    admin.page.locator(".issue-cards li", has_text="小区东门路灯坏了").locator("a").click()
    expect(admin.page.locator("main")).to_contain_text("已更换三盏路灯，晚上试亮正常。")
    confirm = admin.page.locator("main form", has=admin.page.locator("input[value=confirm]"))
    with admin.page.expect_navigation():
        confirm.locator("button[type=submit]").click()
    expect(admin.page).to_have_url(queue_url)
    escalation.refresh_from_db()
    issue.refresh_from_db()
    assert escalation.state == Escalation.State.CONFIRMED
    assert issue.status == Issue.Status.RESOLVED
    assert issue.resolved_at is not None

    # The issue page shows every step, in order.
    staff.page.goto(url + issue_path)
    expect(staff.page.locator("main .status")).to_have_class("status status-resolved")
    kinds = [
        cls.split("event-")[1]
        for cls in staff.page.locator(".timeline .event").evaluate_all(
            "items => items.map(item => item.className)"
        )
    ]
    steps = [kind for kind in kinds if kind != Event.Kind.PHOTO]
    assert steps == [
        "created",
        "escalated",
        "escalated",
        "status",  # in progress, when the street accepted
        "accepted",
        "handled",
        "confirmed",
        "status",  # resolved
    ], kinds
    timeline = staff.page.locator(".timeline")
    expect(timeline).to_contain_text("路灯归街道管，请街道安排城管维修。")
    expect(timeline).to_contain_text("已更换三盏路灯，晚上试亮正常。")
    expect(timeline).to_contain_text(department.name)
    assert not scrolls_sideways(staff.page), f"the issue page scrolls sideways at {width} px"

    for tab in tabs:
        assert tab.problems == []
