"""The follow-up review (回头议) of a resolved matter and the resident's rating (评单), on a phone.

A week after a matter is resolved the sweeper texts the reporter a rating link and
puts a 回头议 item on the council's next meeting. A resident who says the problem is
still there reopens the matter at once; a satisfied one leaves it to the council,
whose review at the meeting closes it. Residents use their own phones, with no
account; staff run the meeting and read the issue page on a phone as well.

Texts are compared with what the Chinese catalogue says for them (``zh``), so the
test holds both before and after the new strings are translated.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext
from playwright.sync_api import expect

from common.phones import mask_phone
from deliberation.actions import review_items
from deliberation.models import AgendaItem, Decision, Meeting
from issues.models import Event, FollowUpReview, Issue, Rating
from members.models import Notice
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways
from tests.helpers.meetings import quorum_present

pytestmark = pytest.mark.browser

PHONE = "13900001111"
TAP = 44  # px: the smallest tap target (static/css/yishi.css, --tap)


@pytest.fixture(autouse=True)
def own_cache(settings, tmp_path):
    """Rate limits of this test only (the live server runs in this process)."""
    default = dict(settings.CACHES["default"])
    if default["BACKEND"].endswith("FileBasedCache"):
        default["LOCATION"] = str(tmp_path / "cache")
    default["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "default": default}


@pytest.fixture
def screenshots(artefacts):
    folder = artefacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def zh(text) -> str:
    """What a Chinese reader sees for ``text`` (a lazy label or a msgid)."""
    with translation.override("zh-hans"):
        return gettext(text) if isinstance(text, str) else str(text)


@dataclass
class DueReview:
    issue: Issue
    review: FollowUpReview
    meeting: Meeting
    item: AgendaItem
    path: str  # the rating link's path, as texted to the reporter


@pytest.fixture
def due_review(transactional_db, manan, manan_staff) -> DueReview:
    """A matter resolved today, a week on: the sweeper asked the reporter, filled the agenda."""
    later = timezone.now() + dt.timedelta(days=8)
    meeting = factories.meeting(manan, later + dt.timedelta(days=2))
    issue = factories.resolved_issue(
        manan,
        actor=manan_staff,
        code="other",  # not a must-deliberate category: it may be resolved without a meeting
        title="3栋楼道堆满杂物",
        description="楼道里堆着旧家具和纸箱，挡住了消防通道。",
        place="3栋1单元",
        contact_phone=PHONE,
    )
    assert issue.status == Issue.Status.RESOLVED
    assert review_items.reviews_sweep(now=later)["sent"] == 1

    notice = Notice.objects.get(kind="review_invite", phone=PHONE, recipient__isnull=True)
    path = urlsplit(notice.context["link"]).path
    assert resolve(path).view_name == "public:rate"
    review = issue.reviews.get()
    assert review.state == FollowUpReview.State.SENT
    item = AgendaItem.objects.get(issue=issue, kind=AgendaItem.Kind.REVIEW)
    assert item.meeting == meeting
    return DueReview(issue=issue, review=review, meeting=meeting, item=item, path=path)


def rating_form(page):
    form = page.locator("main form.rating")
    expect(form).to_be_visible()
    # Fixed: yes / partly / no; satisfaction: the 好差评 scale, best first.
    assert form.locator("input[name=fixed]").evaluate_all("els => els.map(e => e.value)") == [
        "yes",
        "partly",
        "no",
    ]
    satisfaction = form.locator("input[name=satisfaction]")
    assert satisfaction.evaluate_all("els => els.map(e => e.value)") == ["5", "4", "3", "2", "1"]
    for value, label in Rating.Satisfaction.choices:
        expect(form.locator(f"label.choice:has(input[value='{value}'])")).to_contain_text(zh(label))
    return form


def choose(form, name: str, value: str) -> None:
    """Tap the whole choice, as a finger would, not just the small round button."""
    choice = form.locator(f"label.choice:has(input[name={name}][value='{value}'])")
    box = choice.bounding_box()
    assert box["height"] >= TAP, f"the {name}={value} choice is {box['height']} px high"
    choice.click(position={"x": box["width"] - 10, "y": box["height"] / 2})
    expect(choice.locator("input")).to_be_checked()


def send(page, form) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def event_kinds(page) -> list[str]:
    return [
        cls.split("event-")[1]
        for cls in page.locator(".timeline .event").evaluate_all(
            "items => items.map(item => item.className)"
        )
    ]


def test_an_unsatisfied_resident_reopens_the_matter(
    due_review, open_tab, log_in, live_server, screenshots
):
    url = live_server.url
    issue = due_review.issue
    comment = "杂物清走两天又堆回来了，楼道还是堵着。"

    # The tracking page never shows the link: it names the phone it went to, and texts it
    # there again on request.
    resident = open_tab(PHONE_WIDTH)
    page = resident.page
    track_url = url + reverse("public:track_issue", args=[issue.tracking_code])
    page.goto(track_url)
    offer = page.locator(".rating-offer")
    expect(offer).to_contain_text(mask_phone(PHONE))
    expect(page.locator("a[href*='/rate/']")).to_have_count(0)
    assert "/rate/" not in page.content()
    offer.locator("button[type=submit]").click()
    expect(offer.locator(".message[role=status]")).to_contain_text(mask_phone(PHONE))
    again = Notice.objects.filter(kind="review_invite", phone=PHONE).order_by("-id").first()
    assert urlsplit(again.context["link"]).path == due_review.path
    assert Notice.objects.filter(kind="review_invite", phone=PHONE).count() == 2

    # A second phone of the household opened the text message too (used further down).
    stale = open_tab(PHONE_WIDTH)
    stale.page.goto(url + due_review.path)
    stale_form = rating_form(stale.page)

    # The resident opens the link from the text message.
    page.goto(url + due_review.path)
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("main")).to_contain_text(issue.title)
    form = rating_form(page)
    choose(form, "fixed", Rating.Fixed.NO)
    choose(form, "satisfaction", str(Rating.Satisfaction.DISSATISFIED))
    form.locator("textarea[name=comment]").fill(comment)
    assert not scrolls_sideways(page), "the rating page scrolls sideways at 360 px"
    page.screenshot(path=screenshots / "rate-360.png", full_page=True)
    send(page, form)

    # Thanked, and told the matter was reopened.
    expect(page).to_have_url(url + due_review.path + "?thanks=1")
    expect(page.locator("main h1")).to_have_text(zh("Thank you for your rating"))
    expect(page.locator("main form.rating")).to_have_count(0)
    expect(page.locator("main .message[role=status]")).to_be_visible()  # "reopened"
    expect(page.locator("main .message[role=status]")).not_to_be_empty()
    expect(page.locator("main")).to_contain_text(capfirst(zh(Rating.Fixed.NO.label)))
    expect(page.locator("main")).to_contain_text(
        capfirst(zh(Rating.Satisfaction.DISSATISFIED.label))
    )
    assert not scrolls_sideways(page), "the thank-you page scrolls sideways at 360 px"
    page.screenshot(path=screenshots / "rate-thanks-reopened-360.png", full_page=True)

    issue.refresh_from_db()
    assert issue.status == Issue.Status.REOPENED
    rating = Rating.objects.get(review=due_review.review)
    assert (rating.fixed, rating.satisfaction, rating.comment, rating.source) == (
        Rating.Fixed.NO,
        Rating.Satisfaction.DISSATISFIED,
        comment,
        Rating.Source.LINK,
    )
    review = FollowUpReview.objects.get(pk=due_review.review.pk)
    assert (review.state, review.result) == (
        FollowUpReview.State.DONE,
        FollowUpReview.Result.REOPENED,
    )
    # The meeting now deliberates the matter again instead of reviewing a fix that failed.
    due_review.item.refresh_from_db()
    assert due_review.item.kind == AgendaItem.Kind.ISSUE
    recorded = list(Event.objects.filter(issue=issue).values_list("pk", flat=True))
    reason = Event.objects.get(
        issue=issue, kind=Event.Kind.STATUS, to_value=Issue.Status.REOPENED
    ).note  # why it was reopened: shown to the resident as well
    assert reason

    # The tracking page: reopened, the rating and the reopening on the timeline, no more link.
    page.locator(
        f"main a[href='{reverse('public:track_issue', args=[issue.tracking_code])}']"
    ).click()
    expect(page).to_have_url(track_url)
    expect(page.locator(".public-status")).to_have_class(re.compile(r"\bstatus-reopened\b"))
    expect(page.locator(".public-status")).to_have_text(capfirst(zh(Issue.Status.REOPENED.label)))
    expect(page.locator(".rating-offer")).to_have_count(0)
    timeline = page.locator(".public-timeline li")
    rated = timeline.filter(has_text=capfirst(zh(Event.Kind.RATED.label)))
    expect(rated).to_have_count(1)
    expect(rated).to_contain_text(zh(Rating.Satisfaction.DISSATISFIED.label))
    expect(timeline.last).to_contain_text(zh(Issue.Status.REOPENED.label))
    expect(timeline.last.locator(".note")).to_have_text(reason)
    assert not scrolls_sideways(page), "the tracking page scrolls sideways at 360 px"
    page.screenshot(path=screenshots / "rate-tracking-reopened-360.png", full_page=True)

    # The link again: already used, showing the rating given; nothing changes.
    again = page.goto(url + due_review.path)
    assert again.status == 200
    expect(page.locator("main h1")).to_have_text(zh("This outcome has already been rated"))
    expect(page.locator("main form.rating")).to_have_count(0)
    given = " · ".join(
        capfirst(zh(label))
        for label in (Rating.Fixed.NO.label, Rating.Satisfaction.DISSATISFIED.label)
    )
    expect(page.locator("main strong")).to_have_text(given)
    # The other phone's form, sent after: refused the same way, nothing recorded.
    choose(stale_form, "fixed", Rating.Fixed.YES)
    choose(stale_form, "satisfaction", str(Rating.Satisfaction.VERY_SATISFIED))
    with stale.page.expect_response(url + due_review.path) as answered:
        stale_form.locator("button[type=submit]").click()
    assert answered.value.status == 409
    expect(stale.page.locator("main form.rating")).to_have_count(0)
    expect(stale.page.locator("main strong")).to_have_text(given)  # the first rating stands
    assert Rating.objects.filter(review__issue=issue).count() == 1
    assert Rating.objects.get().satisfaction == Rating.Satisfaction.DISSATISFIED
    assert list(Event.objects.filter(issue=issue).values_list("pk", flat=True)) == recorded
    issue.refresh_from_db()
    assert issue.status == Issue.Status.REOPENED

    # Staff, on a phone: the issue page's review card and timeline.
    staff = open_tab(PHONE_WIDTH)
    log_in(staff.page, "manan_staff")
    staff.page.goto(url + reverse("issues:detail", args=[issue.pk]))
    expect(staff.page.locator("main .status").first).to_have_class(
        re.compile(r"\bstatus-reopened\b")
    )
    card = staff.page.locator("#review")
    expect(card).to_contain_text(capfirst(zh(Rating.Fixed.NO.label)))
    expect(card).to_contain_text(comment)
    kinds = event_kinds(staff.page)
    assert kinds[-3:] == ["review_sent", "rated", "status"], kinds
    rated = staff.page.locator(".timeline .event-rated")
    expect(rated).to_contain_text(zh(Rating.Satisfaction.DISSATISFIED.label))
    expect(rated).to_contain_text(zh(Rating.Source.LINK.label))
    expect(rated.locator(".note")).to_have_text(comment)
    reopened = staff.page.locator(".timeline .event").last
    expect(reopened).to_contain_text(zh(Issue.Status.REOPENED.label))
    expect(reopened.locator(".note")).to_have_text(reason)
    assert not scrolls_sideways(staff.page), "the issue page scrolls sideways at 360 px"

    assert resident.problems == []
    assert staff.problems == []
    assert stale.console_errors == [] and stale.page_errors == []
    assert stale.failed_responses == [(409, url + due_review.path)]


def test_a_satisfied_resident_and_the_councils_review_close_the_matter(
    due_review, manan_staff, open_tab, log_in, live_server, screenshots
):
    url = live_server.url
    issue, item = due_review.issue, due_review.item
    notes = "楼道杂物已清空，回访居民表示满意。"

    # The resident opens the link in the text message.
    resident = open_tab(PHONE_WIDTH)
    page = resident.page
    page.goto(url + due_review.path)
    expect(page).to_have_url(url + due_review.path)
    form = rating_form(page)
    choose(form, "fixed", Rating.Fixed.YES)
    choose(form, "satisfaction", str(Rating.Satisfaction.VERY_SATISFIED))
    send(page, form)
    expect(page).to_have_url(url + due_review.path + "?thanks=1")
    expect(page.locator("main form.rating")).to_have_count(0)
    expect(page.locator("main")).to_contain_text(capfirst(zh(Rating.Fixed.YES.label)))
    expect(page.locator("main")).to_contain_text(
        capfirst(zh(Rating.Satisfaction.VERY_SATISFIED.label))
    )
    expect(page.locator("main .message[role=status]")).to_have_count(0)  # nothing reopened
    assert not scrolls_sideways(page), "the thank-you page scrolls sideways at 360 px"
    page.screenshot(path=screenshots / "rate-thanks-satisfied-360.png", full_page=True)

    # A good rating leaves the matter resolved, waiting for the council's review.
    issue.refresh_from_db()
    assert issue.status == Issue.Status.RESOLVED
    review = FollowUpReview.objects.get(pk=due_review.review.pk)
    assert review.state == FollowUpReview.State.SENT
    assert (review.rating.fixed, review.rating.satisfaction) == (
        Rating.Fixed.YES,
        Rating.Satisfaction.VERY_SATISFIED,
    )

    # Staff run the meeting on a phone, with a quorum present: the 回头议 item, folded.
    quorum_present(due_review.meeting, manan_staff)
    staff = open_tab(PHONE_WIDTH)
    log_in(staff.page, "manan_staff")
    staff.page.goto(url + reverse("meetings:detail", args=[due_review.meeting.pk]))
    row = staff.page.locator(f"#item-{item.pk}")
    expect(row.locator("h3")).to_have_text(issue.title)
    expect(row.locator(".tag")).to_have_text(zh(AgendaItem.Kind.REVIEW.label))
    decide = staff.page.locator(f"#decide-{item.pk}")
    expect(decide).to_have_count(0)  # an item's forms load when it is opened
    row.locator("a.open-item").click()
    deciding = staff.page.locator(f"#deciding-{item.pk}")
    expect(deciding.locator("h4")).to_have_text(zh("Record the follow-up review"))
    expect(decide).to_be_visible()
    outcome = decide.locator(f"select[name='item-{item.pk}-outcome']")
    offered = outcome.locator("option").evaluate_all("els => els.map(e => e.value)")
    assert sorted(offered) == ["", "defer", "review_effective", "review_not_effective"]
    outcome.select_option(Decision.Outcome.REVIEW_EFFECTIVE)
    decide.locator(f"textarea[name='item-{item.pk}-notes']").fill(notes)
    assert not scrolls_sideways(staff.page), "the meeting page scrolls sideways at 360 px"
    staff.page.screenshot(path=screenshots / "meeting-review-item-360.png", full_page=True)
    decide.locator("button[type=submit]").click()

    # The item shows the council's review; the matter is reviewed and closed.
    expect(row.locator(".decision")).to_contain_text(zh(Decision.Outcome.REVIEW_EFFECTIVE.label))
    expect(row).to_contain_text(notes)
    expect(row.locator("form")).to_have_count(0)
    assert not scrolls_sideways(staff.page)
    staff.page.screenshot(path=screenshots / "meeting-review-recorded-360.png", full_page=True)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.CLOSED
    review.refresh_from_db()
    assert (review.state, review.result, review.council_outcome, review.council_notes) == (
        FollowUpReview.State.DONE,
        FollowUpReview.Result.CLOSED,
        FollowUpReview.CouncilOutcome.EFFECTIVE,
        notes,
    )
    assert review.council_recorded_by == manan_staff
    assert Decision.objects.get(item=item).outcome == Decision.Outcome.REVIEW_EFFECTIVE

    # The issue page: the review card, and the council's review then the closing on the timeline.
    staff.page.locator(f"#item-{item.pk} h3 a").click()
    expect(staff.page).to_have_url(url + reverse("issues:detail", args=[issue.pk]))
    expect(staff.page.locator("main .status").first).to_have_class(re.compile(r"\bstatus-closed\b"))
    expect(staff.page.locator("main .status").first).to_have_text(zh(Issue.Status.CLOSED.label))
    card = staff.page.locator("#review")
    expect(card).to_contain_text(capfirst(zh(FollowUpReview.CouncilOutcome.EFFECTIVE.label)))
    expect(card).to_contain_text(zh(Rating.Satisfaction.VERY_SATISFIED.label))
    kinds = event_kinds(staff.page)
    assert kinds[-4:] == ["review_sent", "rated", "reviewed", "status"], kinds
    reviewed = staff.page.locator(".timeline .event-reviewed")
    expect(reviewed).to_contain_text(zh(FollowUpReview.CouncilOutcome.EFFECTIVE.label))
    expect(reviewed.locator(".note")).to_have_text(notes)
    expect(reviewed).to_contain_text(manan_staff.display_name)
    closed = staff.page.locator(".timeline .event").last
    expect(closed).to_contain_text(zh(Issue.Status.CLOSED.label))
    assert not scrolls_sideways(staff.page), "the issue page scrolls sideways at 360 px"

    # The resident's tracking page says so too.
    page.goto(url + reverse("public:track_issue", args=[issue.tracking_code]))
    expect(page.locator(".public-status")).to_have_text(capfirst(zh(Issue.Status.CLOSED.label)))
    expect(page.locator(".rating-offer")).to_have_count(0)
    expect(page.locator(".public-timeline li").last).to_contain_text(zh(Issue.Status.CLOSED.label))
    expect(page.locator(".public-timeline")).to_contain_text(
        zh(FollowUpReview.CouncilOutcome.EFFECTIVE.label)
    )

    assert resident.problems == []
    assert staff.problems == []
