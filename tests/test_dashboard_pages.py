"""The community and street dashboards as their readers get them.

Every number that links somewhere links to the inbox, and the inbox it opens must list
exactly that many issues: the pages are read as HTML and each link followed, so a figure
and its inbox that disagree (a date read in UTC on one side, a filter the inbox ignores)
fail here. Then who may see which dashboard, what bad periods answer, the htmx partial,
and the number of queries, which must not grow with the issues.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deliberation.models import Attendance, Meeting
from issues.models import FollowUpReview, Issue, Rating
from members.models import Community, CouncilMember, Role
from tests import factories
from tests.helpers.clock import local
from tests.helpers.issues import reported
from tests.helpers.reviews import cancelled, done, sent

SHANGHAI = ZoneInfo("Asia/Shanghai")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "figures"}
QUARTER = {"period": "custom", "since": "2025-01-01", "until": "2025-03-31"}
NOTHING = {"period": "custom", "since": "2024-06-01", "until": "2024-06-30"}
TWO_YEARS = {"period": "custom", "since": "2024-01-01", "until": "2025-12-31"}
CUT_QUARTER = {"period": "custom", "since": "2025-01-01", "until": "2025-03-20"}
TWO_CUTS = {"period": "custom", "since": "2025-01-10", "until": "2025-03-20"}
INBOX_TOTAL = re.compile(r'<ul class="status-counts"[^>]*>\s*<li><a [^>]*>[^<]*<b>(\d+)</b>')


def community_page(community: Community) -> str:
    return reverse("reports:community_dashboard", args=[community.pk])


def street_page(street) -> str:
    return reverse("reports:street_dashboard", args=[street.pk])


def page_of(request, page: str) -> str:
    if page == "community":
        return community_page(request.getfixturevalue("manan"))
    return street_page(request.getfixturevalue("nanen"))


class Figures(HTMLParser):
    """A dashboard's numbers, each named by where it stands on the page.

    ``links`` maps each number that is a link to the inbox to (its URL, the number);
    ``shown`` maps each ``data-figure`` to the text of its figure. A link is named by its
    ``data-figure``, or by its table, row and column ("months|January 2025|Collected",
    "channels|hotline|", "comparison|<community id>|Collected").
    """

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "col", "wbr"}

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: dict[str, tuple[str, int]] = {}
        self.shown: dict[str, str] = {}
        self.rows: dict[str, list[str]] = {}
        self._open: list[tuple[str, dict]] = []
        self._link: list[str] | None = None
        self._figure: str | None = None
        self._row_head: str | None = None
        self._row = ""
        self.feed(page)
        self.close()

    def _nearest(self, tag: str) -> dict:
        return next((attrs for t, attrs in reversed(self._open) if t == tag), {})

    def _where(self) -> str:
        figure = self._nearest("li").get("data-figure")
        if figure:
            return figure
        table = self._nearest("table")
        name = table.get("data-breakdown") or (table.get("class") or "").split(" ")[-1]
        return f"{name}|{self._row}|{self._nearest('td').get('data-label', '')}"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.VOID:
            return
        self._open.append((tag, attrs))
        if tag == "a":
            self._link = [attrs.get("href") or "", ""]
        elif tag == "tr":
            self._row = attrs.get("data-community", "")
            table = self._nearest("table")
            name = table.get("data-breakdown") or (table.get("class") or "").split(" ")[-1]
            if self._row:
                self.rows.setdefault(name, []).append(self._row)
        elif tag == "th" and attrs.get("scope") == "row":
            self._row_head = ""
        elif tag == "span" and attrs.get("class") == "figure":
            self._figure = ""

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            href, text = self._link
            if href.startswith(reverse("issues:inbox") + "?"):
                self.links[self._where()] = (href, int(text.strip()))
            self._link = None
        elif tag == "th" and self._row_head is not None:
            self._row = self._row or self._row_head.strip()
            self._row_head = None
        elif tag == "span" and self._figure is not None:
            self.shown[self._nearest("li").get("data-figure", "")] = " ".join(self._figure.split())
            self._figure = None
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data
        if self._figure is not None:
            self._figure += data
        if self._row_head is not None and self._open[-1][0] != "span":
            self._row_head += data


def inbox_total(client, url: str) -> int:
    response = client.get(url, **EN)
    assert response.status_code == 200, url
    page = response.content.decode()
    assert 'class="errors"' not in page, url  # the inbox took every filter the link gives
    return int(INBOX_TOTAL.search(page)[1])


def get(client, url: str, params: dict | None = None, **extra) -> str:
    response = client.get(url, params or {}, **extra)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def reviews_due_after_a_day(nanen):
    category = factories.category(nanen, "other")
    category.review_after_days = 1
    category.save(update_fields=["review_after_days"])


@pytest.fixture
def quarter_of_work(
    reviews_due_after_a_day, manan, xingfu, beishan, manan_staff, xingfu_staff, nanen_admin
):
    """The first quarter of 2025 in 南恩街道, its edges at local midnights (UTC+8)."""
    today = timezone.localdate()
    late, later = today - dt.timedelta(days=1), today + dt.timedelta(days=10)
    # 马南社区: 10 issues collected, 4 resolved in the period, 4 still open, 1 overdue.
    reported(manan, local(2025, 1, 1, 0, 30), resolved=local(2025, 1, 3, 0, 30))
    reported(
        manan, local(2025, 2, 28, 23, 30), resolved=local(2025, 3, 1, 0, 10), channel="hotline",
        code="environment", tier="street",
    )  # fmt: skip
    reported(manan, local(2025, 3, 1), due_on=late, channel="chat_group", code="facilities")
    reported(
        manan, local(2025, 3, 31, 23, 59), status="in_progress", due_on=later, code="policy",
        tier="community",
    )  # fmt: skip
    reported(manan, local(2025, 3, 20, 8), resolved=local(2025, 3, 31, 23, 50))  # last evening
    reported(manan, local(2024, 12, 31, 23, 30), resolved=local(2025, 1, 15))  # resolved only
    reported(manan, local(2025, 3, 15, 9), resolved=local(2025, 4, 1, 0, 30))  # collected only
    reported(manan, local(2025, 4, 1), due_on=late)  # after the period
    reviews = [
        done(manan, manan_staff, after_days=2, rating=5),  # closed
        done(manan, manan_staff, after_days=3, rating=2),  # reopened: open again
        sent(manan, manan_staff),
        cancelled(manan, manan_staff),  # reopened before its review: open
    ]
    for day, review in enumerate(reviews, start=3):
        factories.moved(review.issue, created=local(2025, 2, day, 10))
    # 幸福村社区: 3 collected, 1 resolved, 1 open and overdue.
    reported(xingfu, local(2025, 2, 5), resolved=local(2025, 2, 8), channel="home_visit")
    reported(xingfu, local(2025, 3, 3), due_on=late, code="security")
    review = done(xingfu, xingfu_staff, after_days=2, rating=4)
    factories.moved(review.issue, created=local(2025, 3, 20))
    # Another street's community: on no dashboard of 南恩街道.
    reported(beishan, local(2025, 2, 5), due_on=late)


EXPECTED = {
    "community": {
        "collected": 10,
        "resolved": 4,
        "still_open": 4,
        "overdue": 1,
        "review_any": 3,
        "review_reviewed": 2,
        "review_satisfied": 1,
        "review_reopened": 1,
        "review_rated_by_staff": 0,
        "months|January 2025|Collected": 1,
        "months|February 2025|Collected": 5,
        "months|March 2025|Collected": 4,
        "months|January 2025|Resolved": 2,
        "months|February 2025|Resolved": 0,
        "months|March 2025|Resolved": 2,
        "channels|city hotline|": 1,
        "tiers|street office|": 1,
    },
    "street": {
        "collected": 13,
        "resolved": 5,
        "still_open": 5,
        "overdue": 2,
        "review_any": 4,
        "review_reviewed": 3,
        "review_satisfied": 2,
        "review_reopened": 1,
        "review_rated_by_staff": 0,
        "months|February 2025|Collected": 6,
        "months|March 2025|Collected": 6,
        "channels|home visit|": 1,
    },
}


@pytest.mark.parametrize(
    ("person", "page"),
    [("manan_staff", "community"), ("nanen_admin", "community"), ("nanen_admin", "street")],
)
def test_every_figure_opens_the_inbox_listing_exactly_that_many_issues(
    request, as_user, quarter_of_work, person, page
):
    client = as_user(request.getfixturevalue(person))

    links = Figures(get(client, page_of(request, page), QUARTER, **EN)).links

    names = set(links)
    for figure in ("collected", "resolved", "still_open", "overdue"):
        assert figure in names
    for kind in ("any", "reviewed", "satisfied", "reopened", "rated_by_staff"):
        assert f"review_{kind}" in names
    assert len([n for n in names if n.startswith("months|")]) == 3 * 2
    assert len([n for n in names if n.startswith("categories|")]) == 11
    assert len([n for n in names if n.startswith("channels|")]) == len(Issue.Channel.choices)
    assert len([n for n in names if n.startswith("tiers|")]) == len(Issue.Tier.choices)
    if page == "street":
        manan, xingfu = request.getfixturevalue("manan"), request.getfixturevalue("xingfu")
        assert links[f"comparison|{manan.pk}|Collected"][1] == 10
        assert links[f"comparison|{xingfu.pk}|Collected"][1] == 3
    shown = {name: n for name, (_url, n) in links.items()}
    assert {name: shown.get(name) for name in EXPECTED[page]} == EXPECTED[page]  # by hand
    for name, (url, n) in links.items():
        assert inbox_total(client, url) == n, name


def test_the_breakdowns_add_up_to_the_issues_collected(
    as_user, manan, manan_staff, quarter_of_work
):
    links = Figures(get(as_user(manan_staff), community_page(manan), QUARTER, **EN)).links

    for breakdown in ("categories", "channels", "tiers"):
        assert sum(n for name, (_u, n) in links.items() if name.startswith(f"{breakdown}|")) == 10
    assert sum(n for name, (_u, n) in links.items() if name.endswith("|Collected")) == 10


def test_the_days_to_resolution_and_the_review_shares(as_user, manan, manan_staff, quarter_of_work):
    shown = Figures(get(as_user(manan_staff), community_page(manan), QUARTER, **EN)).shown

    # 40 minutes (28 February, 23:30 to 1 March, 00:10), 2 days, 11.66 days (20 March,
    # 08:00 to 31 March, 23:50) and 14.02 days (31 December, 23:30 to 15 January).
    assert shown["median"] == "6.8 days"
    assert shown["p90"] == "13.3 days"  # 11.66 + 0.7 × (14.02 − 11.66)
    page = get(as_user(manan_staff), community_page(manan), QUARTER, **EN)
    assert "2 of 3 · 67%" in page  # reviewed, of the issues with a review
    assert "1 of 2 · 50%" in page  # satisfied of rated, and reopened of reviewed


def test_the_street_dashboard_shows_the_ratings_staff_recorded(
    as_user, manan, xingfu, manan_staff, xingfu_staff, nanen_admin, quarter_of_work
):
    from issues import reviews

    for community, staff, source in (
        (manan, manan_staff, "phone"),
        (manan, manan_staff, "in_person"),
        (xingfu, xingfu_staff, "phone"),
    ):
        review = sent(community, staff)
        reviews.review_rate(review=review, actor=staff, fixed="yes", satisfaction=4, source=source)
        factories.moved(review.issue, created=local(2025, 3, 10))
    client = as_user(nanen_admin)

    page = get(client, street_page(manan.street), QUARTER, **EN)

    figures = Figures(page)
    url, n = figures.links["review_rated_by_staff"]
    assert n == 3 and inbox_total(client, url) == 3  # by hand: two in 马南社区, one in 幸福村
    # Counted in the satisfied share: quarter_of_work's 2 satisfied of its 3 rated by link
    # (5, 2 and 4), and the 3 staff recorded, all 4: 5 of 6.
    assert figures.links["review_satisfied"][1] == 5 and "5 of 6 · 83%" in page
    rows = re.findall(r'<tr data-community="(\d+)">(.*?)</tr>', page, re.S)
    staff = re.compile(r"(\d+) ratings? recorded by staff")
    staff_in_row = {int(pk): staff.findall(row) for pk, row in rows}
    assert staff_in_row == {manan.pk: ["2"], xingfu.pk: ["1"]}


# --- Who sees what -----------------------------------------------------------------------------


@pytest.mark.outsider("reports:community_dashboard")
@pytest.mark.parametrize("person", ["xingfu_staff", "other_admin", "city_handler"])
def test_another_communitys_dashboard_is_not_found(request, as_user, manan, person):
    client = as_user(request.getfixturevalue(person))

    assert client.get(community_page(manan), QUARTER).status_code == 404
    assert client.get(community_page(manan), QUARTER, **HTMX).status_code == 404


@pytest.mark.outsider("reports:street_dashboard")
@pytest.mark.parametrize("person", ["other_admin", "manan_staff", "manan_member", "city_handler"])
def test_another_streets_dashboard_is_not_found(request, as_user, nanen, person):
    client = as_user(request.getfixturevalue(person))

    assert client.get(street_page(nanen), QUARTER).status_code == 404
    assert client.get(street_page(nanen), QUARTER, **HTMX).status_code == 404


def test_nobody_signed_in_is_sent_to_sign_in(client, manan, nanen):
    for url in (community_page(manan), street_page(nanen)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def council_account(community: Community, username: str, **fields):
    account = factories.user(username)
    member = factories.council_member(community, **fields)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=member)
    return account


def test_an_ordinary_council_member_is_refused_and_a_former_leader_not_found(as_user, manan):
    member = council_account(manan, "ordinary", role=CouncilMember.Role.MEMBER)
    former = council_account(
        manan, "former", role=CouncilMember.Role.LEADER, left_on=dt.date(2025, 1, 1)
    )

    for account, status in ((member, 403), (former, 404)):
        assert as_user(account).get(community_page(manan), QUARTER).status_code == status
        assert as_user(account).get(community_page(manan), QUARTER, **HTMX).status_code == status


def test_the_council_leader_sees_the_figures_without_links(
    as_user, manan, manan_member, quarter_of_work
):
    client = as_user(manan_member)

    page = get(client, community_page(manan), QUARTER, **EN)

    figures = Figures(page)
    assert figures.links == {}
    assert reverse("issues:inbox") + "?" not in page
    assert 'id="exports-title"' not in page  # the downloads are the inbox's too
    assert (figures.shown["collected"], figures.shown["still_open"]) == ("10", "4")
    assert figures.shown["review_reopened"] == "1"
    assert client.get(reverse("issues:inbox")).status_code == 403
    # A deputy leader too.
    deputy = council_account(manan, "deputy", role=CouncilMember.Role.DEPUTY)
    assert Figures(get(as_user(deputy), community_page(manan), QUARTER, **EN)).shown == (
        figures.shown
    )


def test_the_street_compares_only_its_own_communities(
    as_user, nanen, manan, xingfu, beishan, nanen_admin, other_admin, quarter_of_work
):
    rows = Figures(get(as_user(nanen_admin), street_page(nanen), QUARTER, **EN)).rows

    assert sorted(rows["comparison"]) == sorted([str(manan.pk), str(xingfu.pk)])
    chengbei = beishan.street
    theirs = Figures(get(as_user(other_admin), street_page(chengbei), QUARTER, **EN))
    assert theirs.rows["comparison"] == [str(beishan.pk)]
    assert theirs.links["collected"][1] == 1


def test_a_street_with_no_communities_yet_shows_zeros(db, as_user):
    street = factories.street("新建街道")
    admin = factories.user("new_admin")
    factories.role(admin, Role.Kind.STREET_ADMIN, street=street)

    page = get(as_user(admin), street_page(street), QUARTER, **EN)

    figures = Figures(page)
    assert figures.links["collected"][1] == 0
    assert "comparison" not in figures.rows
    assert "The street has no departments yet." in page


@pytest.mark.parametrize(
    ("sort", "first", "aria"),
    [("name", "xingfu", "ascending"), ("-collected", "manan", "descending")],
)
def test_the_street_comparison_sorts_by_a_column(
    request, as_user, nanen, nanen_admin, quarter_of_work, sort, first, aria
):
    page = get(as_user(nanen_admin), street_page(nanen), QUARTER | {"sort": sort}, **EN)

    order = Figures(page).rows["comparison"]
    others = {"manan": "xingfu", "xingfu": "manan"}
    assert order == [
        str(request.getfixturevalue(first).pk),
        str(request.getfixturevalue(others[first]).pk),
    ]
    column = "Community" if sort == "name" else "Collected"
    assert re.search(rf'aria-sort="{aria}">\s*<a [^>]*>{column} [▲▼]</a>', page)


# --- Bad periods, the htmx partial, an empty period --------------------------------------------


BAD_PERIODS = [
    (
        {"period": "custom", "since": "2025-03-01", "until": "2025-02-01"},
        "The end date is before the start date.",
        "截止日期早于起始日期。",
    ),
    (
        {"period": "custom", "since": "2005-01-01", "until": "2024-12-31"},
        "Choose a range of at most 5 years.",
        "时段最长为 5 年，请缩短。",
    ),
    (
        {"period": "custom", "since": "", "until": ""},
        "Choose both a start and an end date for a custom range.",
        "自定义时段请同时选择起始日期和截止日期。",
    ),
]


@pytest.mark.parametrize(
    ("person", "page"), [("manan_staff", "community"), ("nanen_admin", "street")]
)
@pytest.mark.parametrize(
    ("params", "english", "chinese"), BAD_PERIODS, ids=["end-before-start", "20-years", "empty"]
)
def test_a_bad_period_says_why_and_shows_no_figures(
    request, as_user, quarter_of_work, person, page, params, english, chinese
):
    client = as_user(request.getfixturevalue(person))
    url = page_of(request, page)

    for headers, message, correct in (
        (EN, english, "Please correct the marked fields."),
        (ZH, chinese, "请修改标出的项目。"),
    ):
        shown = get(client, url, params, **headers)
        assert message in shown
        assert correct in shown
        assert "data-figure" not in shown
        assert 'id="dashboard-data"' not in shown
        assert Figures(shown).links == {}
    assert '<html lang="zh-hans"' in shown


def test_the_chinese_dashboard_names_each_figure(as_user, manan, manan_staff, quarter_of_work):
    page = get(as_user(manan_staff), community_page(manan), QUARTER, **ZH)

    for figure, words in [
        ("collected", "已收集"),  # not 收集方式, the rating's "collected" (how it was asked)
        ("resolved", "已解决"),
        ("still_open", "仍在办理"),
        ("overdue", "已超期"),
        ("median", "解决用时中位数"),
    ]:
        assert re.search(rf'<li data-figure="{figure}">.*?</span> {words}</li>', page), figure
    assert "收集方式" not in page


def test_htmx_gets_only_the_figures(
    as_user, manan, nanen, manan_staff, nanen_admin, quarter_of_work
):
    readers = [(manan_staff, community_page(manan)), (nanen_admin, street_page(nanen))]
    for reader, url in readers:
        client = as_user(reader)
        full = get(client, url, QUARTER, **EN)
        partial = get(client, url, QUARTER, **EN, **HTMX)

        assert partial.lstrip().startswith('<div id="figures"')
        assert partial.rstrip().endswith("</div>")
        assert "<html" not in partial
        assert 'class="filters period"' not in partial  # the period form stays as it is
        assert 'id="dashboard-data"' in partial  # the charts' numbers come along
        assert Figures(partial).links == Figures(full).links
        assert Figures(partial).shown == Figures(full).shown
        # htmx asking for anything else (a boosted link) gets the whole page.
        boosted = get(client, url, QUARTER, HTTP_HX_REQUEST="true", **EN)
        assert "<html" in boosted


@pytest.mark.parametrize(("period", "english", "_chinese"), BAD_PERIODS)
def test_htmx_with_a_bad_period_gets_the_error_and_no_figures(
    as_user, manan, manan_staff, quarter_of_work, period, english, _chinese
):
    # htmx swaps only #figures: the reason must be there, not only beside the form's field.
    partial = get(as_user(manan_staff), community_page(manan), period, **EN, **HTMX)

    assert partial.lstrip().startswith('<div id="figures"')
    assert english in partial
    assert "data-figure" not in partial


@pytest.mark.parametrize(
    ("person", "page"), [("manan_staff", "community"), ("nanen_admin", "street")]
)
def test_a_period_with_no_issues_shows_zeros_and_dashes(
    request, as_user, quarter_of_work, person, page
):
    client = as_user(request.getfixturevalue(person))

    figures = Figures(get(client, page_of(request, page), NOTHING, **EN))

    assert {n for _url, n in figures.links.values()} == {0}
    assert figures.shown["collected"] == figures.shown["resolved"] == "0"
    assert figures.shown["median"] == figures.shown["p90"] == "—"
    assert figures.shown["meetings_held"] == "0"
    page_text = get(client, page_of(request, page), NOTHING, **EN)
    assert "From 2024-06-01 to 2024-06-30" in page_text
    assert re.search(r'data-figure="review_reviewed">.*?<span class="context">—</span>', page_text)
    if page == "street":
        assert len(re.findall(r'class="num days" data-label="Median days">—</td>', page_text)) == 2


def test_the_community_dashboard_shows_meetings_and_attendance(
    as_user, manan, manan_staff, manan_leader_term
):
    for day, state in ((10, "held"), (20, "held"), (25, "cancelled"), (28, "scheduled")):
        meeting = factories.meeting(manan, local(2025, 2, day, 15))
        Meeting.objects.filter(pk=meeting.pk).update(state=state)
        if day == 10:
            Attendance.objects.create(
                meeting=meeting, member=manan_leader_term, signed_in_at=meeting.starts_at,
                how="staff", recorded_by=manan_staff,
            )  # fmt: skip

    page = get(as_user(manan_staff), community_page(manan), QUARTER, **EN)

    shown = Figures(page).shown
    assert (shown["meetings_held"], shown["meetings_scheduled"]) == ("2", "1")
    assert shown["meetings_cancelled"] == "1"
    assert "held, of 4 planned" in page
    assert re.search(r"王建国</bdi></th>\s*<td[^>]*>1 of 2</td>\s*<td[^>]*>50%</td>", page)


def test_the_street_dashboard_shows_its_departments(as_user, nanen, manan, nanen_admin):
    department = factories.department(nanen, "城市管理和综合执法局")
    issue = reported(manan, local(2025, 1, 2))
    factories.escalation(
        issue=issue, street=nanen, reason="需要协调", raised_by=nanen_admin, state="handled",
        department=department, deadline=dt.date(2025, 1, 20), decided_by=nanen_admin,
        decided_at=local(2025, 1, 5, 9), handled_at=local(2025, 1, 9, 21),
    )  # fmt: skip

    page = get(as_user(nanen_admin), street_page(nanen), QUARTER, **EN)

    assert re.search(
        r"城市管理和综合执法局</th>\s*<td[^>]*>1</td>\s*<td[^>]*>1</td>\s*<td[^>]*>0</td>"
        r"\s*<td[^>]*>4.5 days</td>",
        page,
    )


# --- Queries -----------------------------------------------------------------------------------

CODES = ["other", "environment", "policy", "facilities", "security"]
STATES = ["pending", "sent", "closed", "reopened", "cancelled"]


def grow(nanen, manan, xingfu, nanen_admin, manan_leader_term, count: int) -> None:
    """Issues, reviews, ratings, escalations and meetings up to ``count`` per community."""
    today = timezone.localdate()
    department = factories.department(nanen)
    for community in (manan, xingfu):
        for i in range(Issue.objects.filter(community=community).count(), count):
            created = local(2025, 1 + i % 3, 1 + i % 28, 9)
            resolved = created + dt.timedelta(days=1 + i % 9) if i % 2 else None
            issue = reported(
                community, created, resolved=resolved, code=CODES[i % len(CODES)],
                channel=Issue.Channel.values[i % 7], tier=Issue.Tier.values[i % 4],
                due_on=today - dt.timedelta(days=1) if i % 4 == 0 else None,
            )  # fmt: skip
            if resolved:
                state = STATES[i % len(STATES)]
                review = FollowUpReview.objects.create(
                    issue=issue,
                    resolved_at=resolved,
                    due_at=resolved + dt.timedelta(days=1),
                    state="done" if state in ("closed", "reopened") else state,
                    result=state if state in ("closed", "reopened") else "",
                    finished_at=resolved + dt.timedelta(days=2) if state != "pending" else None,
                )
                if state != "pending":
                    Rating.objects.create(
                        review=review, fixed="yes", satisfaction=1 + i % 5, source="link"
                    )
            if i % 3 == 0:
                factories.escalation(
                    issue=issue, street=nanen, reason="协调", raised_by=nanen_admin,
                    state="accepted", department=department, deadline=today,
                    decided_by=nanen_admin, decided_at=created + dt.timedelta(days=1),
                    handled_at=created + dt.timedelta(days=3) if i % 2 else None,
                )  # fmt: skip
        meetings = Meeting.objects.filter(council=community.council)
        for i in range(meetings.count(), count // 3):
            meeting = factories.meeting(community, local(2025, 1 + i % 3, 1 + i // 3, 15))
            Meeting.objects.filter(pk=meeting.pk).update(state=("held", "scheduled")[i % 2])
            if community == manan and i % 2 == 0:
                Attendance.objects.create(
                    meeting=meeting, member=manan_leader_term, signed_in_at=meeting.starts_at,
                    how="staff", recorded_by=nanen_admin,
                )  # fmt: skip
        factories.council_member(community, joined_on=dt.date(2025, 1 + count % 3, 1))
    factories.community(f"新社区{count}", street_=nanen)


def count_queries(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    assert b'data-figure="collected"' in response.content
    return len(captured)


# Every page reads the session, the user, the user's roles and the unread count (4), then
# its scope (the community; or the street and its communities) and the period reports (1).
# The figures take 5 however many issues or months: the months kept in the roll-up (open
# and overdue included), the residents who said "me too", reviews, meetings, categories; a
# period that cuts a month (a custom range to the 20th) adds three for each month cut
# (collected, resolved, still open: read from the issues).
# A community adds attendance (members, held meetings, sign-ins: 3), a council leader the
# check of their post (1); a street adds its departments (departments, their months kept
# in the roll-up, overdue: 3), and one more for each month cut (its escalations). Both add
# the volunteer figures (hours per team and month, active volunteers, exchanges: 3).
@pytest.mark.parametrize(
    ("person", "page", "params", "pinned"),
    [
        ("manan_staff", "community", QUARTER, 16),
        ("manan_staff", "community", TWO_YEARS, 16),
        ("manan_staff", "community", CUT_QUARTER, 19),
        ("nanen_admin", "community", QUARTER, 16),
        ("manan_member", "community", QUARTER, 17),
        ("nanen_admin", "street", QUARTER, 17),
        ("nanen_admin", "street", TWO_CUTS, 25),
        ("nanen_admin", "street", {"period": "last_year", "sort": "-median"}, 17),
    ],
    ids=[
        "staff", "staff-24-months", "staff-cut-months", "admin", "leader", "street",
        "street-cut-months", "street-sorted",
    ],
)  # fmt: skip
def test_the_dashboards_read_as_many_queries_for_3_issues_as_for_30(
    request, as_user, nanen, manan, xingfu, nanen_admin, manan_leader_term, person, page, params,
    pinned,
):  # fmt: skip
    client = as_user(request.getfixturevalue(person))
    url = page_of(request, page)
    grow(nanen, manan, xingfu, nanen_admin, manan_leader_term, 3)
    few = count_queries(client, url, params)
    grow(nanen, manan, xingfu, nanen_admin, manan_leader_term, 30)
    many = count_queries(client, url, params)

    assert few == many == pinned
