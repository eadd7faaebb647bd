"""The community and street dashboards in a browser, on a phone and at a desk.

The charts are drawn by ``static/js/dashboard.js`` with the vendored ECharts build (fetched only
after the page has loaded, once a chart comes near the screen), under the
site's Content-Security-Policy (a violation is a console error, and fails the test). The
period select and the comparison's column headers fetch the figures again with htmx and
push the address. A period report is asked for on the page and built by a real Celery
worker (``tests.processes``), started only once the page shows the row waiting, so the
row is seen going from its progress bar to its download link.

New strings may not be translated yet: the tests look at structure, numbers and names.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from reports.models import PeriodReport
from tests import factories
from tests.browser.conftest import DESK_WIDTH, PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser

WIDTHS = [PHONE_WIDTH, DESK_WIDTH]
# ECharts animates its bars for about a second; screenshots wait for the drawing to settle.
SETTLE_MS = 1200


@pytest.fixture
def screenshots(artefacts):
    folder = artefacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def matters(transactional_db, manan, xingfu, beishan, manan_staff, xingfu_staff, nanen_admin):
    """This month: three matters in 马南社区 (one resolved), four in 幸福村社区.
    Last year: two more in 马南社区. One in 北山社区, of another street, never shows."""
    factories.resolved_issue(manan, actor=manan_staff, title="楼道灯不亮")
    factories.issue(
        manan, actor=manan_staff, title="电梯异响", code="facilities", channel="hotline",
        is_urgent=True,
    )  # fmt: skip
    factories.issue(manan, actor=manan_staff, title="楼道堆物")
    for n in range(4):
        factories.issue(xingfu, actor=xingfu_staff, title=f"停车难{n}")
    factories.issue(beishan, title="北山路灯不亮")
    june = dt.datetime(
        timezone.localdate().year - 1, 6, 15, 10, tzinfo=timezone.get_default_timezone()
    )
    for title in ("去年的井盖松动", "去年的垃圾满溢"):
        old = factories.issue(manan, actor=manan_staff, title=title)
        factories.moved(old, created=june)
    return {"manan": 3, "xingfu": 4, "manan_last_year": 2}


def figure(page, name: str):
    return page.locator(f"#figures [data-figure={name}] .figure")


def chart_drawn(page, name: str = "months") -> bool:
    """The chart's canvas is there, has a size, and something is painted on it."""
    return page.locator(f"#figures .chart[data-chart={name}]").evaluate(
        """element => {
            const canvas = element.querySelector("canvas");
            if (!canvas || !canvas.width || !canvas.height) return false;
            const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < pixels.length; i += 4) { if (pixels[i]) return true; }
            return false;
        }"""
    )


def expect_chart(page, name: str = "months") -> None:
    # The chart code is fetched once a chart comes near the screen, as a reader scrolls.
    page.locator(f"#figures .chart[data-chart={name}]").scroll_into_view_if_needed()
    expect(page.locator(f"#figures .chart[data-chart={name}] canvas")).to_have_count(1)
    page.wait_for_function(
        """name => {
            const canvas = document.querySelector(`#figures .chart[data-chart=${name}] canvas`);
            return canvas && canvas.width > 0 && canvas.height > 0;
        }""",
        arg=name,
    )
    assert chart_drawn(page, name), f"the {name} chart has a canvas with nothing on it"


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def mark_stale(page) -> None:
    """Mark the figures shown now, to tell them from the ones htmx puts in their place."""
    page.locator("#figures").evaluate("element => element.setAttribute('data-stale', '')")


def change_period(page, value: str) -> None:
    """Choose a period: htmx fetches the figures (only them) and pushes the address."""
    mark_stale(page)
    with page.expect_response(lambda r: f"period={value}" in r.url) as answered:
        page.locator("#id_period").select_option(value)
    response = answered.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true"
    assert response.request.headers.get("hx-target") == "figures"
    assert "<html" not in response.text()
    expect(page).to_have_url(re.compile(rf"[?&]period={value}(&|$)"))
    expect(page.locator("#figures[data-stale]")).to_have_count(0)
    expect(page.locator("#figures")).to_have_count(1)


def comparison(page) -> list[str]:
    return page.locator("#figures table.comparison tbody th[scope=row]").all_inner_texts()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_community_dashboard_draws_its_charts_and_follows_the_period(
    width, matters, manan, open_tab, log_in, live_server, screenshots
):
    tab = open_tab(width)
    page = tab.page
    log_in(page, "manan_staff")
    path = reverse("reports:community_dashboard", args=[manan.pk])
    page.goto(live_server.url + path)

    expect(page.locator("main")).to_contain_text("马南社区")
    expect(figure(page, "collected")).to_have_text(str(matters["manan"]))
    expect(figure(page, "resolved")).to_have_text("1")
    expect(figure(page, "still_open")).to_have_text("2")
    expect_chart(page, "months")
    expect_chart(page, "categories")
    expect_chart(page, "channels")
    # The figures link to the inbox listing what they count (staff have an inbox).
    collected = figure(page, "collected").locator("a")
    expect(collected).to_have_attribute("href", re.compile(rf"community={manan.pk}(&|$)"))
    expect(page.locator("#figures")).not_to_contain_text("幸福村")
    if width == PHONE_WIDTH:
        assert not scrolls_sideways(page), "the community dashboard scrolls sideways at 360 px"
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=screenshots / f"dashboard-community-{width}.png", full_page=True)

    # Last year: two matters, twelve months; the address says so.
    change_period(page, "last_year")
    expect(figure(page, "collected")).to_have_text(str(matters["manan_last_year"]))
    expect(figure(page, "resolved")).to_have_text("0")
    expect(page.locator("#figures table.months tbody tr")).to_have_count(12)
    year = timezone.localdate().year - 1
    expect(page.locator("#figures .period-label")).to_contain_text(f"{year}-01-01")
    expect(page.locator("#figures .period-label")).to_contain_text(f"{year}-12-31")
    assert urlsplit(page.url).path == path
    assert query_of(page)["period"] == ["last_year"]
    if width == PHONE_WIDTH:
        assert not scrolls_sideways(page), "last year's dashboard scrolls sideways at 360 px"

    # Back: the browser's history holds the figures the address names.
    page.go_back()
    expect(page).to_have_url(live_server.url + path)
    expect(figure(page, "collected")).to_have_text(str(matters["manan"]))
    # The address pushed, opened anew, shows that period with its charts.
    page.go_forward()
    expect(page).to_have_url(re.compile(r"[?&]period=last_year(&|$)"))
    page.reload()
    expect(page.locator("#id_period")).to_have_value("last_year")
    expect(figure(page, "collected")).to_have_text(str(matters["manan_last_year"]))
    expect_chart(page, "months")
    expect_chart(page, "categories")
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=screenshots / f"dashboard-community-last-year-{width}.png", full_page=True)

    assert tab.problems == []


@pytest.mark.parametrize("width", WIDTHS)
def test_the_street_dashboard_compares_its_communities(
    width, matters, nanen, open_tab, log_in, live_server, screenshots
):
    tab = open_tab(width)
    page = tab.page
    log_in(page, "nanen_admin")
    path = reverse("reports:street_dashboard", args=[nanen.pk])
    page.goto(live_server.url + path)

    expect(page.locator("main h1")).to_contain_text("南恩街道")
    expect(figure(page, "collected")).to_have_text(str(matters["manan"] + matters["xingfu"]))
    expect_chart(page, "months")
    expect_chart(page, "categories")
    # Both communities of the street, by name; none of another street's.
    assert comparison(page) == ["幸福村社区", "马南社区"]
    expect(page.locator("main")).not_to_contain_text("北山")
    rows = page.locator("#figures table.comparison tbody tr")
    expect(rows.filter(has_text="马南社区").locator("td").first).to_have_text(str(matters["manan"]))
    expect(rows.filter(has_text="幸福村社区").locator("td").first).to_have_text(
        str(matters["xingfu"])
    )
    if width == PHONE_WIDTH:
        assert not scrolls_sideways(page), "the street dashboard scrolls sideways at 360 px"
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=screenshots / f"dashboard-street-{width}.png", full_page=True)

    # Sorted by the number collected, fewest first, then most first.
    header = page.locator("#figures table.comparison thead th").nth(1)
    expect(header).to_have_attribute("aria-sort", "none")
    for sort, order, aria in [
        ("collected", ["马南社区", "幸福村社区"], "ascending"),
        ("-collected", ["幸福村社区", "马南社区"], "descending"),
    ]:
        sort_by_collected(page, width, sort)
        expect(page.locator("#figures table.comparison thead th").nth(1)).to_have_attribute(
            "aria-sort", aria
        )
        assert comparison(page) == order
        assert query_of(page)["period"] == ["month"]

    # Another period: last year, 马南社区 alone had matters.
    change_period(page, "last_year")
    expect(figure(page, "collected")).to_have_text(str(matters["manan_last_year"]))
    expect(rows.filter(has_text="幸福村社区").locator("td").first).to_have_text("0")
    expect(rows.filter(has_text="马南社区").locator("td").first).to_have_text(
        str(matters["manan_last_year"])
    )
    # A community's name leads to its own dashboard, for the same period.
    name = page.locator("#figures table.comparison tbody th a", has_text="马南社区")
    expect(name).to_have_attribute("href", re.compile(r"/dashboard/\?period=last_year$"))
    if width == PHONE_WIDTH:
        assert not scrolls_sideways(page), "last year's street dashboard scrolls sideways"

    # The address, opened anew: that period, that order, and the charts.
    page.goto(live_server.url + path + "?period=last_year&sort=-collected")
    assert comparison(page) == ["马南社区", "幸福村社区"]
    expect(page.locator("#figures table.comparison thead th").nth(1)).to_have_attribute(
        "aria-sort", "descending"
    )
    expect_chart(page, "months")

    assert tab.problems == []


def sort_by_collected(page, width: int, sort: str) -> None:
    """Follow the comparison's "collected" column header: htmx sorts, the address follows."""
    mark_stale(page)
    link = page.locator("#figures table.comparison thead th").nth(1).locator("a")
    with page.expect_response(lambda r: f"sort={sort}" in r.url) as answered:
        if width == PHONE_WIDTH and sort.startswith("-"):
            # On a phone the rows are cards: a "sort by" list above them, most first.
            page.locator("#figures form.sort-phone select").select_option(sort)
        elif width == PHONE_WIDTH:
            # The header row is visually hidden there; its links are still reachable from
            # the keyboard (fewest first is only offered there).
            link.focus()
            page.keyboard.press("Enter")
        else:
            link.click()
    assert answered.value.status == 200
    assert answered.value.request.headers.get("hx-request") == "true"
    expect(page).to_have_url(re.compile(rf"[?&]sort={re.escape(sort)}(&|$)"))
    expect(page.locator("#figures[data-stale]")).to_have_count(0)


@pytest.mark.parametrize("dashboard", ["community", "street"])
def test_the_tables_show_without_the_chart_code_which_loads_after_and_draws_the_charts(
    dashboard, matters, manan, nanen, open_tab, log_in, live_server
):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    if dashboard == "community":
        log_in(page, "manan_staff")
        path, collected = reverse("reports:community_dashboard", args=[manan.pk]), matters["manan"]
    else:
        log_in(page, "nanen_admin")
        path = reverse("reports:street_dashboard", args=[nanen.pk])
        collected = matters["manan"] + matters["xingfu"]
    happened: list[str] = []
    held = []

    def hold(route) -> None:  # the chart code does not arrive until the test lets it
        happened.append("chart code asked")
        held.append(route)

    page.route(re.compile(r"/echarts[^/]*\.js(\?|$)"), hold)
    page.on("load", lambda _page: happened.append("page loaded"))
    page.goto(live_server.url + path, wait_until="commit")

    # Without the chart code, the page is whole: figures and tables painted and readable.
    expect(figure(page, "collected")).to_have_text(str(collected))
    expect(page.locator("#figures table.months")).to_be_visible()
    expect(page.locator("#figures table.tallies").first).to_be_visible()
    page.wait_for_load_state("load")
    # The reader scrolls to a chart: only now, after the page's load, is the code asked for.
    page.locator("#figures .chart[data-chart=months]").scroll_into_view_if_needed()
    page.wait_for_function("() => true")  # let the observer's callback run
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert happened == ["page loaded", "chart code asked"]
    expect(page.locator("#figures .chart canvas")).to_have_count(0)

    held[0].continue_()
    expect_chart(page, "months")
    expect_chart(page, "categories")
    assert tab.problems == []


# --- What htmx's swaps keep ------------------------------------------------------------------
# htmx drops every <script> of swapped content (allowScriptTags: false), so the charts' data
# rides on an attribute; and the comparison's sort lives inside #figures.


@pytest.mark.parametrize("dashboard", ["community", "street"])
def test_the_charts_are_drawn_again_for_the_period_chosen(
    dashboard, matters, manan, nanen, open_tab, log_in, live_server
):
    tab = open_tab(DESK_WIDTH)
    page = tab.page
    if dashboard == "community":
        log_in(page, "manan_staff")
        page.goto(live_server.url + reverse("reports:community_dashboard", args=[manan.pk]))
    else:
        log_in(page, "nanen_admin")
        page.goto(live_server.url + reverse("reports:street_dashboard", args=[nanen.pk]))
    expect_chart(page)
    change_period(page, "last_year")
    expect(figure(page, "collected")).to_have_text(str(matters["manan_last_year"]))
    expect(page.locator("#dashboard-data")).to_have_count(1, timeout=2_000)
    expect_chart(page)
    assert tab.problems == []


def test_choosing_a_period_keeps_the_comparison_sorted_as_chosen(
    matters, nanen, open_tab, log_in, live_server
):
    tab = open_tab(DESK_WIDTH)
    page = tab.page
    log_in(page, "nanen_admin")
    page.goto(live_server.url + reverse("reports:street_dashboard", args=[nanen.pk]))
    sort_by_collected(page, DESK_WIDTH, "collected")
    sort_by_collected(page, DESK_WIDTH, "-collected")
    assert comparison(page) == ["幸福村社区", "马南社区"]
    change_period(page, "year")
    assert query_of(page).get("sort") == ["-collected"], page.url
    assert comparison(page) == ["幸福村社区", "马南社区"]
    assert tab.problems == []


@pytest.mark.worker
@pytest.mark.usefixtures("room_in_the_day")  # the last whole quarter, here as in the worker
def test_a_period_report_is_prepared_by_the_worker_while_the_page_watches(
    matters, manan, manan_staff, media, open_tab, log_in, live_server, screenshots,
    celery_processes,
):  # fmt: skip
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("reports:community_dashboard", args=[manan.pk]))
    section = page.locator("#period-reports")
    expect(section.locator("li.report")).to_have_count(0)

    # The form offers the last whole quarter.
    today = timezone.localdate()
    this_quarter = (today.month - 1) // 3 + 1
    year, quarter = (today.year - 1, 4) if this_quarter == 1 else (today.year, this_quarter - 1)
    form = section.locator("form")
    expect(form.locator("select[name=kind]")).to_have_value("quarter")
    expect(form.locator("select[name=year]")).to_have_value(str(year))
    expect(form.locator("select[name=quarter]")).to_have_value(str(quarter))
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        form.locator("button[type=submit]").click()
    assert answered.value.status == 200

    # No worker yet: the row waits, with its progress bar, and asks for itself again.
    report = PeriodReport.objects.get()
    row = page.locator(f"#report-{report.pk}")
    expect(row).to_have_class(re.compile(r"\bpending\b"))
    expect(row.locator("progress")).to_be_visible()
    expect(row.locator("a")).to_have_count(0)
    status = reverse("reports:report_status", args=[report.pk])
    with page.expect_response(lambda r: urlsplit(r.url).path == status, timeout=5_000) as polled:
        pass
    assert polled.value.status == 200
    expect(row.locator("progress")).to_be_visible()

    # Asking again for the same quarter: the same row, and a word that it is the one.
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        section.locator("form button[type=submit]").click()
    assert answered.value.status == 200
    expect(section.locator(".message.info[role=status]")).to_be_visible()
    expect(section.locator("li.report")).to_have_count(1)
    assert PeriodReport.objects.count() == 1
    assert not scrolls_sideways(page)
    page.screenshot(path=screenshots / "dashboard-report-waiting-360.png", full_page=True)

    # A worker comes up and builds it; the row turns into a download link by itself.
    seen: list = []  # the row's answers from now on
    page.on("response", lambda r: seen.append(r) if urlsplit(r.url).path == status else None)
    worker = celery_processes.worker("worker", MEDIA_ROOT=str(media))
    celery_processes.wait_ready(worker)
    download = row.locator("a.button")
    expect(download).to_be_visible(timeout=90_000)
    expect(row).to_have_class(re.compile(r"\bdone\b"))
    expect(row.locator("progress")).to_have_count(0)
    expect(download).to_have_attribute("href", reverse("reports:report_download", args=[report.pk]))
    assert seen and 'class="report done"' in seen[-1].text()
    assert all(r.status == 200 for r in seen)
    report.refresh_from_db()
    assert report.state == PeriodReport.State.DONE
    assert not scrolls_sideways(page)
    page.screenshot(path=screenshots / "dashboard-report-ready-360.png", full_page=True)

    # The polling has stopped: no more requests for the row.
    polls = len(seen)
    page.wait_for_timeout(2_500)
    assert len(seen) == polls

    with page.expect_download() as downloading:
        download.click()
    saved = downloading.value
    assert saved.suggested_filename == f"马南社区 {year}-Q{quarter}.pdf"
    with open(saved.path(), "rb") as pdf:
        data = pdf.read()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "马南社区" in text
    assert f"{report.since:%Y-%m-%d}" in text and f"{report.until:%Y-%m-%d}" in text
    assert "Traceback" not in worker.text(), worker.text()[-5000:]
    assert tab.problems == []
