"""Period reports (季度/年度报告) as PDF: asked for once, built once, seen only by their readers.

Asking writes a pending row and, after the commit, sends the row's id to a worker; the
worker claims it (pending → running), renders the PDF with WeasyPrint and marks it done.
Most tests here run the task in this process (Celery is eager in the test settings) or
call ``report_build`` themselves; the ``worker`` ones start a real Celery worker
(``tests.processes``) on the test database, as ``tests/test_review_worker.py`` does.

New strings are compared with what the catalogue says for them (``zh``), so the tests
hold before and after they are translated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import threading
import types
from pathlib import Path
from unittest import mock
from urllib.parse import unquote

import pytest
from django.db import connection, connections
from django.db.models.query import QuerySet
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from pypdf import PdfReader

from common.periods import Period
from deliberation.celery import app as celery_app
from members.models import CouncilMember, Role
from reports import period_reports
from reports import views as report_views
from reports.models import PeriodReport
from reports.tasks import build_period_report
from tests import factories
from tests.processes import RECEIVED, finished

R = PeriodReport.State
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "period-reports"}
BUILD = "reports.tasks.build_period_report"


def zh(text) -> str:
    """What a Chinese reader sees for ``text`` (a msgid)."""
    with translation.override("zh-hans"):
        return gettext(text)


def last_quarter(today: dt.date | None = None) -> tuple[int, int]:
    """(year, quarter) of the last whole quarter before today's."""
    today = today or timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    return (today.year - 1, 4) if quarter == 1 else (today.year, quarter - 1)


def quarter_period(year: int, quarter: int) -> Period:
    return period_reports.report_period(
        PeriodReport.Kind.QUARTER, year, quarter, today=timezone.localdate()
    )


def local(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:20]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def request_url(community=None, street=None) -> str:
    if community is not None:
        return reverse("reports:community_report", args=[community.pk])
    return reverse("reports:street_report", args=[street.pk])


def status_url(report: PeriodReport) -> str:
    return reverse("reports:report_status", args=[report.pk])


def download_url(report: PeriodReport) -> str:
    return reverse("reports:report_download", args=[report.pk])


def quarter_form(year: int, quarter: int) -> dict[str, str]:
    return {"kind": "quarter", "year": str(year), "quarter": str(quarter)}


def a_report(*, community=None, street=None, actor, state=R.PENDING, period=None, **fields):
    """A row as ``report_request`` writes it, in a given state, without sending anything."""
    period = period or quarter_period(*last_quarter())
    scope = f"community:{community.pk}" if community else f"street:{street.pk}"
    return PeriodReport.objects.create(
        community=community, street=street, scope_key=scope, kind=PeriodReport.Kind.QUARTER,
        since=period.since, until=period.until, language="zh-hans", requested_by=actor,
        state=state, **fields,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sent(monkeypatch) -> mock.Mock:
    """``build_period_report.delay`` counted instead of run: what was enqueued, and how often."""
    delay = mock.Mock(name="build_period_report.delay")
    monkeypatch.setattr(build_period_report, "delay", delay)
    return delay


@pytest.fixture
def plain_member(manan):
    """An ordinary member of 马南社区's council (not its leader or a deputy), with an account."""
    member = factories.council_member(
        manan, factories.resident(manan, "赵小红"), role=CouncilMember.Role.MEMBER
    )
    account = factories.user("manan_plain_member", display_name="赵小红")
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=member)
    return account


@pytest.fixture
def quarter_issues(manan, xingfu, beishan, manan_staff, xingfu_staff):
    """Matters of the last whole quarter: two in 马南社区 (one resolved), one in each other."""
    year, quarter = last_quarter()
    period = quarter_period(year, quarter)
    day = period.since + dt.timedelta(days=20)
    lift = factories.resolved_issue(manan, actor=manan_staff, title="电梯异响多日")
    noise = factories.issue(manan, actor=manan_staff, title="夜间广场舞噪音")
    parking = factories.resolved_issue(xingfu, actor=xingfu_staff, title="幸福村停车难")
    far = factories.issue(beishan, title="北山路灯不亮")
    resolved = local(day + dt.timedelta(days=3))
    lift, parking = (
        factories.moved(i, created=local(day), resolved_at=resolved) for i in (lift, parking)
    )
    noise, far = (factories.moved(i, created=local(day)) for i in (noise, far))
    return types.SimpleNamespace(
        year=year, quarter=quarter, period=period, lift=lift, noise=noise, parking=parking
    )


# --- Asking twice ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", [R.PENDING, R.RUNNING])
def test_asking_twice_while_the_first_is_busy_gives_the_same_row_and_one_task(
    manan, manan_staff, as_user, sent, django_capture_on_commit_callbacks, state
):
    client = as_user(manan_staff)
    year, quarter = last_quarter()
    url = request_url(manan)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, quarter_form(year, quarter), **HTMX)
    assert first.status_code == 200
    report = PeriodReport.objects.get()
    assert (report.state, report.scope_key, report.kind, report.language) == (
        R.PENDING, f"community:{manan.pk}", "quarter", "zh-hans",
    )  # fmt: skip
    assert (report.since, report.until) == (
        quarter_period(year, quarter).since,
        quarter_period(year, quarter).until,
    )
    assert report.requested_by == manan_staff
    sent.assert_called_once_with(report.pk)
    assert b'role="status"' in first.content and f'id="report-{report.pk}"' in first.text
    assert "message info" not in first.text

    if state == R.RUNNING:  # a worker took it up meanwhile
        PeriodReport.objects.filter(pk=report.pk).update(
            state=R.RUNNING, started_at=timezone.now(), progress=40
        )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = client.post(url, quarter_form(year, quarter), **HTMX)
        plain = client.post(url, quarter_form(year, quarter))
    assert callbacks == []
    assert sent.call_count == 1
    assert list(PeriodReport.objects.values_list("pk", "state")) == [(report.pk, state)]
    # The list shows the one row, and says it is the one being prepared.
    assert again.status_code == 200
    assert again.text.count('class="report ') == 1
    assert f'id="report-{report.pk}"' in again.text
    assert re.search(r'<p class="message info" role="status">', again.text)
    assert zh("This report is already being prepared: it is the one in the list.") in again.text
    # Without htmx: back to the dashboard, with the same word.
    assert plain.status_code == 302
    assert plain["Location"] == reverse("reports:community_dashboard", args=[manan.pk])
    page = client.get(plain["Location"])
    assert [str(m) for m in page.context["messages"]] == [
        zh("This report is already being prepared: it is the one in the list.")
    ]


def test_a_finished_or_failed_report_does_not_stop_a_new_one(
    manan, manan_staff, as_user, sent, django_capture_on_commit_callbacks
):
    year, quarter = last_quarter()
    done = a_report(community=manan, actor=manan_staff, state=R.DONE)
    failed = a_report(community=manan, actor=manan_staff, state=R.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(manan_staff).post(
            request_url(manan), quarter_form(year, quarter), **HTMX
        )
    assert response.status_code == 200
    new = PeriodReport.objects.exclude(pk__in=[done.pk, failed.pk]).get()
    assert new.state == R.PENDING
    sent.assert_called_once_with(new.pk)


def test_the_same_period_in_another_language_or_scope_is_another_report(
    manan, xingfu, nanen, manan_staff, nanen_admin, sent, django_capture_on_commit_callbacks
):
    period = quarter_period(*last_quarter())
    kind = PeriodReport.Kind.QUARTER
    with django_capture_on_commit_callbacks(execute=True):
        zh_report, zh_new = period_reports.report_request(
            actor=manan_staff, kind=kind, period=period, community=manan
        )
        with translation.override("en"):
            en_report, en_new = period_reports.report_request(
                actor=manan_staff, kind=kind, period=period, community=manan
            )
        other, other_new = period_reports.report_request(
            actor=nanen_admin, kind=kind, period=period, community=xingfu
        )
        street, street_new = period_reports.report_request(
            actor=nanen_admin, kind=kind, period=period, street=nanen
        )
        again, again_new = period_reports.report_request(
            actor=nanen_admin, kind=kind, period=period, community=manan
        )
    assert (zh_new, en_new, other_new, street_new, again_new) == (True, True, True, True, False)
    assert (zh_report.language, en_report.language) == ("zh-hans", "en")
    assert again == zh_report
    assert [c.args for c in sent.call_args_list] == [
        (zh_report.pk,), (en_report.pk,), (other.pk,), (street.pk,),
    ]  # fmt: skip
    with pytest.raises(ValueError):
        period_reports.report_request(actor=nanen_admin, kind=kind, period=period)


# --- What the PDF holds ----------------------------------------------------------------------


def test_a_community_quarter_report_names_the_community_and_the_period(
    quarter_issues, manan, manan_staff, as_user, media, django_capture_on_commit_callbacks
):
    client = as_user(manan_staff)
    with django_capture_on_commit_callbacks(execute=True):  # eager: built in this process
        client.post(
            request_url(manan), quarter_form(quarter_issues.year, quarter_issues.quarter), **HTMX
        )
    report = PeriodReport.objects.get()
    assert (report.state, report.progress, report.error) == (R.DONE, 100, "")
    assert report.started_at <= report.finished_at
    stored = Path(report.file.path)
    assert stored.is_relative_to(media / "reports") and stored.suffix == ".pdf"
    data = stored.read_bytes()
    assert report.size == len(data)

    text = pdf_text(data)
    since, until = quarter_issues.period.since, quarter_issues.period.until
    assert "马南社区" in text
    assert "南恩街道" in text  # the street the community belongs to, above the title
    assert f"{since:%Y-%m-%d}" in text and f"{until:%Y-%m-%d}" in text
    # The resolved matter is named; the other communities' are not.
    assert "电梯异响多日" in text
    assert "幸福村" not in text and "北山" not in text
    title = PdfReader(io.BytesIO(data)).metadata.title
    with translation.override("zh-hans"):
        assert title == f"马南社区 · {PeriodReport.Kind.QUARTER.label}"

    # The list row now offers the file.
    row = client.get(status_url(report))
    assert row.status_code == 200
    assert "hx-get" not in row.text  # it stops polling
    assert f'href="{download_url(report)}"' in row.text
    assert 'class="report done"' in row.text


def test_a_street_year_report_names_the_street_and_its_communities(
    quarter_issues, nanen, nanen_admin, as_user, django_capture_on_commit_callbacks
):
    year = quarter_issues.year
    client = as_user(nanen_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            request_url(street=nanen), {"kind": "year", "year": str(year), "quarter": ""}, **HTMX
        )
    assert response.status_code == 200
    report = PeriodReport.objects.get()
    assert (report.scope_key, report.kind, report.state) == (f"street:{nanen.pk}", "year", R.DONE)
    assert (report.since, report.until) == (dt.date(year, 1, 1), dt.date(year, 12, 31))

    download = client.get(download_url(report))
    text = pdf_text(b"".join(download.streaming_content))
    assert "南恩街道" in text
    assert f"{year}-01-01" in text and f"{year}-12-31" in text
    # Each of the street's communities, in the comparison and beside the matters it resolved.
    assert "马南社区" in text and "幸福村社区" in text
    assert "电梯异响多日" in text and "幸福村停车难" in text
    # Nothing of another street's.
    assert "北山" not in text and "城北" not in text


# --- Building: once, and again when a worker died ------------------------------------------


def test_building_a_done_report_again_does_nothing(manan, manan_staff, monkeypatch):
    report = a_report(community=manan, actor=manan_staff)
    assert period_reports.report_build(report.pk) is True
    report.refresh_from_db()
    before = (report.state, report.file.name, report.size, report.finished_at, report.started_at)
    assert before[0] == R.DONE

    render = mock.Mock(side_effect=AssertionError("rendered again"))
    monkeypatch.setattr(period_reports, "render_pdf", render)
    assert period_reports.report_build(report.pk) is False
    # A redelivered message, through the task, finds it done too.
    assert build_period_report.delay(report.pk).get() is False
    render.assert_not_called()
    report.refresh_from_db()
    assert (report.state, report.file.name, report.size, report.finished_at, report.started_at) == (
        before
    )
    assert len(list(Path(report.file.path).parent.iterdir())) == 1


def test_a_report_another_worker_claimed_is_left_to_it(manan, manan_staff, monkeypatch):
    started = timezone.now() - period_reports.STALE_AFTER + dt.timedelta(minutes=1)
    report = a_report(
        community=manan, actor=manan_staff, state=R.RUNNING, started_at=started, progress=40
    )
    render = mock.Mock(side_effect=AssertionError("rendered twice"))
    monkeypatch.setattr(period_reports, "render_pdf", render)
    assert period_reports.report_build(report.pk) is False
    render.assert_not_called()
    report.refresh_from_db()
    assert (report.state, report.started_at, report.progress) == (R.RUNNING, started, 40)
    # Nor does a failed one come back by itself.
    failed = a_report(community=manan, actor=manan_staff, state=R.FAILED, progress=40)
    assert period_reports.report_build(failed.pk) is False
    assert PeriodReport.objects.get(pk=failed.pk).state == R.FAILED


def test_a_stale_running_report_is_taken_back_and_built(manan, manan_staff):
    now = timezone.now()
    dead = now - period_reports.STALE_AFTER - dt.timedelta(seconds=1)
    report = a_report(
        community=manan, actor=manan_staff, state=R.RUNNING, started_at=dead, progress=60
    )
    assert period_reports.report_build(report.pk, now=now) is True
    report.refresh_from_db()
    assert (report.state, report.progress, report.started_at) == (R.DONE, 100, now)
    assert "马南社区" in pdf_text(report.file.read())


def test_the_sweep_resends_old_pending_and_stale_running_reports_only(
    manan, xingfu, nanen, manan_staff, nanen_admin, sent
):
    now = timezone.now()
    old = now - period_reports.RESEND_AFTER - dt.timedelta(seconds=5)
    long_ago = now - dt.timedelta(days=2)
    # Busy rows of one scope need periods of their own (one busy report per period).
    make = (Period(dt.date(year, 1, 1), dt.date(year, 3, 31)) for year in range(2015, 2030))

    def report(state, created, **fields):
        row = a_report(community=manan, actor=manan_staff, state=state, period=next(make), **fields)
        PeriodReport.objects.filter(pk=row.pk).update(created=created)
        return row

    lost = report(R.PENDING, old)
    fresh = report(R.PENDING, now - dt.timedelta(seconds=30))  # its message may be on the way
    stale = report(R.RUNNING, long_ago, started_at=now - period_reports.STALE_AFTER * 2)
    busy = report(R.RUNNING, long_ago, started_at=now - dt.timedelta(minutes=1))
    report(R.DONE, long_ago, started_at=long_ago, finished_at=long_ago)
    report(R.FAILED, long_ago, started_at=long_ago, finished_at=long_ago)
    street_lost = a_report(street=nanen, actor=nanen_admin)
    PeriodReport.objects.filter(pk=street_lost.pk).update(created=old)

    assert period_reports.reports_sweep(now=now) == 3
    assert sorted(c.args[0] for c in sent.call_args_list) == sorted(
        [lost.pk, stale.pk, street_lost.pk]
    )
    assert fresh.pk not in [c.args[0] for c in sent.call_args_list]
    assert busy.pk not in [c.args[0] for c in sent.call_args_list]
    # The sweep only sends: the rows stay as they were until a worker claims them.
    assert PeriodReport.objects.get(pk=lost.pk).state == R.PENDING


def test_the_sweep_task_builds_what_was_lost(manan, manan_staff):
    lost = a_report(community=manan, actor=manan_staff)
    PeriodReport.objects.filter(pk=lost.pk).update(
        created=timezone.now() - period_reports.RESEND_AFTER * 2
    )
    from reports.tasks import sweep_period_reports

    assert sweep_period_reports.delay().get() == 1  # eager: the build ran too
    lost.refresh_from_db()
    assert lost.state == R.DONE and lost.file


def test_a_report_that_cannot_be_rendered_is_marked_failed_and_shown_so(
    manan, manan_staff, as_user, monkeypatch, caplog
):
    report = a_report(community=manan, actor=manan_staff)

    def broken(report, progress):
        progress(40)
        raise RuntimeError("no CJK font found")

    monkeypatch.setattr(period_reports, "render_pdf", broken)
    assert period_reports.report_build(report.pk) is False
    report.refresh_from_db()
    assert (report.state, report.error, report.file.name) == (
        R.FAILED, "no CJK font found", "",
    )  # fmt: skip
    assert report.finished_at is not None
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)

    client = as_user(manan_staff)
    row = client.get(status_url(report))
    assert row.status_code == 200
    assert 'class="report failed"' in row.text
    assert "hx-get" not in row.text and "<progress" not in row.text  # polling stops
    assert zh("could not be prepared") in row.text
    assert "no CJK font found" not in row.text  # the cause is for the log, not the page
    dashboard = client.get(reverse("reports:community_dashboard", args=[manan.pk]))
    assert f'<li class="report failed" id="report-{report.pk}">' in dashboard.text
    assert client.get(download_url(report)).status_code == 404


def test_a_busy_row_polls_itself_and_shows_its_progress(manan, manan_staff, as_user):
    report = a_report(
        community=manan, actor=manan_staff, state=R.RUNNING, started_at=timezone.now(),
        progress=40,
    )  # fmt: skip
    row = as_user(manan_staff).get(status_url(report))
    assert row.status_code == 200
    assert f'hx-get="{status_url(report)}"' in row.text
    assert 'hx-trigger="every 2s"' in row.text and 'hx-swap="outerHTML"' in row.text
    assert '<progress max="100" value="40"' in row.text
    assert "40%" in row.text
    assert "Download" not in row.text and 'href="' not in row.text


# --- Who may ask, see and download -----------------------------------------------------------


@pytest.fixture
def both_reports(manan, nanen, manan_staff, nanen_admin):
    """A done report of 马南社区 and one of 南恩街道, each with its file."""
    community = a_report(community=manan, actor=manan_staff)
    street = a_report(street=nanen, actor=nanen_admin)
    for report in (community, street):
        assert period_reports.report_build(report.pk) is True
        report.refresh_from_db()
    return types.SimpleNamespace(community=community, street=street)


@pytest.mark.outsider("reports:report_status", "reports:report_download")
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_another_communitys_or_streets_report_is_not_found(
    both_reports, xingfu_staff, other_admin, manan_staff, plain_member, as_user, htmx
):
    headers = HTMX if htmx else {}
    community, street = both_reports.community, both_reports.street
    refused = {
        xingfu_staff: [community, street],  # the neighbouring community's staff
        other_admin: [community, street],  # another street's admin
        manan_staff: [street],  # a community's staff do not see their street's reports
        plain_member: [community, street],  # an ordinary council member
    }
    for user, reports in refused.items():
        client = as_user(user)
        for report in reports:
            for url in (status_url(report), download_url(report)):
                assert client.get(url, **headers).status_code == 404, (user.username, url)
    assert as_user(manan_staff).get(status_url(community)).status_code == 200
    missing = PeriodReport.objects.order_by("-pk").first().pk + 1
    assert as_user(manan_staff).get(status_url(PeriodReport(pk=missing))).status_code == 404


def test_readers_of_a_report_may_download_it(
    file_store, both_reports, manan_staff, manan_member, nanen_admin, as_user
):
    community, street = both_reports.community, both_reports.street
    for user, report in [
        (manan_staff, community),
        (manan_member, community),  # the council's leader sees the dashboard
        (nanen_admin, community),  # the street's admin sees its communities'
        (nanen_admin, street),
    ]:
        response = as_user(user).get(download_url(report))
        assert response.status_code == 200, (user.username, report.scope_key)
        with report.file.open("rb") as stored:
            assert b"".join(response.streaming_content) == stored.read()


@pytest.mark.outsider("reports:community_report", "reports:street_report")
def test_asking_for_another_communitys_or_streets_report_is_not_found(
    manan, xingfu, nanen, xingfu_staff, other_admin, manan_staff, as_user, sent
):
    form = quarter_form(*last_quarter())
    for user, url in [
        (xingfu_staff, request_url(manan)),
        (other_admin, request_url(manan)),
        (other_admin, request_url(street=nanen)),
        (manan_staff, request_url(street=nanen)),
        (xingfu_staff, request_url(street=nanen)),
    ]:
        assert as_user(user).post(url, form, **HTMX).status_code == 404, (user.username, url)
        assert as_user(user).post(url, form).status_code == 404, (user.username, url)
    assert not PeriodReport.objects.exists()
    sent.assert_not_called()


def test_an_ordinary_council_member_may_not_ask_or_see_the_dashboard(
    manan, plain_member, manan_member, as_user, sent, django_capture_on_commit_callbacks
):
    client = as_user(plain_member)
    form = quarter_form(*last_quarter())
    assert client.post(request_url(manan), form, **HTMX).status_code == 403
    assert client.get(reverse("reports:community_dashboard", args=[manan.pk])).status_code == 403
    assert not PeriodReport.objects.exists()
    sent.assert_not_called()
    # The council's leader may.
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(manan_member).post(request_url(manan), form, **HTMX).status_code == 200
    assert PeriodReport.objects.get().requested_by == manan_member


def test_asking_needs_a_login_and_a_post(manan, manan_staff, as_user):
    url = request_url(manan)
    anonymous = Client().post(url, quarter_form(*last_quarter()))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert as_user(manan_staff).get(url).status_code == 405
    assert not PeriodReport.objects.exists()


# --- Bad input -------------------------------------------------------------------------------


@pytest.fixture
def in_may(monkeypatch):
    """The report views' today is 10 May 2026: the third quarter has not begun."""
    today = dt.date(2026, 5, 10)
    monkeypatch.setattr(
        report_views, "timezone", types.SimpleNamespace(localdate=lambda: today, now=timezone.now)
    )
    return today


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    ("data", "msgid"),
    [
        ({"kind": "quarter", "year": "2026", "quarter": ""}, "Choose which quarter."),
        ({"kind": "quarter", "year": "2026"}, "Choose which quarter."),
        ({"kind": "quarter", "year": "2026", "quarter": "3"}, "That period has not begun yet."),
        ({"kind": "quarter", "year": "2026", "quarter": "4"}, "That period has not begun yet."),
    ],
    ids=["quarter-blank", "quarter-missing", "next-quarter", "last-quarter-of-the-year"],
)
def test_a_refused_request_says_why_in_the_readers_language_and_writes_nothing(
    manan, manan_staff, as_user, sent, in_may, data, msgid, language
):
    client = as_user(manan_staff)
    client.cookies["django_language"] = language
    with translation.override(language):
        expected = gettext(msgid)
    if language == "zh-hans":
        assert expected == zh(msgid)

    response = client.post(request_url(manan), data, **HTMX)
    assert response.status_code == 200
    summary = re.search(r"<div [^>]*data-error-summary>(.*?)</div>", response.text, re.S)
    assert re.findall(r"<li>([^<]*)</li>", summary.group(1)) == [expected]
    assert response.text.count('role="alert"') == 1
    # The form keeps what was chosen.
    assert re.search(r'<option value="2026" selected>', response.text)

    plain = client.post(request_url(manan), data)
    assert plain.status_code == 302
    page = client.get(plain["Location"])
    assert [str(m) for m in page.context["messages"]] == [expected]
    assert not PeriodReport.objects.exists()
    sent.assert_not_called()


def test_a_year_not_offered_or_an_unknown_kind_is_refused(
    manan, manan_staff, as_user, sent, in_may
):
    client = as_user(manan_staff)
    client.cookies["django_language"] = "en"
    for data in [
        {"kind": "year", "year": "2027"},  # not begun, and not in the list
        {"kind": "year", "year": "2019"},  # older than the list goes
        {"kind": "month", "year": "2026", "quarter": "1"},
        {"kind": "quarter", "year": "2026", "quarter": "5"},
        {"kind": "quarter", "year": "next", "quarter": "1"},
    ]:
        response = client.post(request_url(manan), data, **HTMX)
        assert response.status_code == 200, data
        assert 'role="alert"' in response.text, data
    assert not PeriodReport.objects.exists()
    sent.assert_not_called()


def test_a_period_begun_today_may_be_asked_for(manan, manan_staff, as_user, sent, in_may):
    """The year in progress, and the quarter that began before today, are fine."""
    client = as_user(manan_staff)
    for data in [{"kind": "year", "year": "2026"}, quarter_form(2026, 2)]:
        response = client.post(request_url(manan), data, **HTMX)
        assert response.status_code == 200 and 'role="alert"' not in response.text, data
    assert sorted(PeriodReport.objects.values_list("since", "until")) == [
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    ]


def test_the_form_offers_the_last_whole_quarter_first():
    from reports.forms import ReportRequestForm

    for today, year, quarter in [
        (dt.date(2026, 5, 10), 2026, 1),
        (dt.date(2026, 1, 2), 2025, 4),
        (dt.date(2026, 12, 1), 2026, 3),
    ]:
        form = ReportRequestForm(today=today)
        assert form.initial == {"kind": "quarter", "year": year, "quarter": quarter}
        assert next(y for y, _ in form.fields["year"].choices) == today.year


# --- The download ----------------------------------------------------------------------------


def test_the_download_is_a_pdf_attachment_with_a_utf8_name(
    both_reports, manan_staff, nanen_admin, as_user
):
    community, street = both_reports.community, both_reports.street
    year, quarter = last_quarter()
    for user, report, ascii_name, name in [
        (
            manan_staff, community,
            f"report-community-{community.community_id}-{year}-Q{quarter}.pdf",
            f"马南社区 {year}-Q{quarter}.pdf",
        ),
        (
            nanen_admin, street,
            f"report-street-{street.street_id}-{year}-Q{quarter}.pdf",
            f"南恩街道 {year}-Q{quarter}.pdf",
        ),
    ]:  # fmt: skip
        response = as_user(user).get(download_url(report))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        disposition = response["Content-Disposition"]
        match = re.fullmatch(
            r"attachment; filename=\"([ -~]+)\"; filename\*=UTF-8''(\S+)", disposition
        )
        assert match, disposition
        assert match[1] == ascii_name
        assert unquote(match[2], encoding="utf-8") == name
        assert response["Cache-Control"] == "private, no-store"
        body = b"".join(response.streaming_content)
        assert int(response["Content-Length"]) == len(body) == report.size
        assert body.startswith(b"%PDF-")


def test_a_year_report_and_an_awkward_name_give_a_clean_file_name(nanen, manan_staff):
    odd = factories.community('东区/西区"新村"', street_=nanen)
    report = a_report(
        community=odd, actor=manan_staff, period=Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    )
    report.kind = PeriodReport.Kind.YEAR
    ascii_name, name = period_reports.filename_for(report)
    assert ascii_name == f"report-community-{odd.pk}-2025.pdf"
    assert name == "东区 西区 新村 2025.pdf"
    disposition = period_reports.content_disposition(report)
    assert disposition.isascii()
    assert disposition.endswith(
        "''" + "%E4%B8%9C%E5%8C%BA%20%E8%A5%BF%E5%8C%BA%20%E6%96%B0%E6%9D%91%202025.pdf"
    )


def test_a_report_still_being_prepared_has_nothing_to_download(manan, manan_staff, as_user):
    for year, state in enumerate((R.PENDING, R.RUNNING, R.FAILED), start=2020):
        report = a_report(
            community=manan, actor=manan_staff, state=state,
            period=Period(dt.date(year, 1, 1), dt.date(year, 3, 31)),
        )  # fmt: skip
        assert as_user(manan_staff).get(download_url(report)).status_code == 404, state


# --- With a real worker ----------------------------------------------------------------------


def race_the_busy_check(monkeypatch, barrier: threading.Barrier) -> None:
    """Hold each request thread after it looked for a busy report, until the other has too.

    Where the database lets both look before either writes (PostgreSQL), both find none and
    both insert: the partial unique constraint decides. SQLite takes its write lock when the
    transaction begins, so the second request waits for the first to commit and finds its
    row; the barrier then gives up waiting and lets the first go on.
    """
    first = QuerySet.first

    def first_then_wait(self):
        found = first(self)
        if self.model is PeriodReport and threading.current_thread().name.startswith("asker"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return found

    monkeypatch.setattr(QuerySet, "first", first_then_wait)


def ask_at_once(users_clients: list[Client], url: str, data: dict) -> list:
    responses: list = [None] * len(users_clients)
    errors: list[BaseException] = []

    def ask(number: int, client: Client) -> None:
        try:
            responses[number] = client.post(url, data, **HTMX)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=ask, args=(n, c), name=f"asker{n}")
        for n, c in enumerate(users_clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert all(not thread.is_alive() for thread in threads)
    return responses


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("room_in_the_day")  # the last whole quarter, here as in the worker
def test_two_requests_at_once_give_one_row_and_one_pdf_from_a_real_worker(
    quarter_issues, manan, manan_staff, manan_member, celery_processes, monkeypatch, media
):
    barrier = threading.Barrier(2, timeout=5)
    race_the_busy_check(monkeypatch, barrier)
    clients = []
    for user in (manan_staff, manan_member):
        client = Client()
        client.force_login(user)
        clients.append(client)

    # Two readers ask for the same quarter at the same moment; no worker runs yet.
    responses = ask_at_once(
        clients, request_url(manan), quarter_form(quarter_issues.year, quarter_issues.quarter)
    )
    assert [r.status_code for r in responses] == [200, 200]
    report = PeriodReport.objects.get()
    assert report.state == R.PENDING
    assert all(f'id="report-{report.pk}"' in r.text for r in responses)
    already = [zh("This report is already being prepared: it is the one in the list.") in r.text
               for r in responses]  # fmt: skip
    assert sorted(already) == [False, True]
    # PostgreSQL let both look first (the constraint turned the second away); SQLite did not.
    assert barrier.broken is (connection.vendor == "sqlite")

    worker = celery_processes.worker("worker", MEDIA_ROOT=str(media))
    celery_processes.wait_ready(worker)
    celery_processes.wait_for(
        lambda: PeriodReport.objects.filter(pk=report.pk, state=R.DONE).exists(),
        seconds=90,
        what="the report to be built",
    )
    # One message was sent for the two requests, and one file written.
    received = [name for name, _ in RECEIVED.findall(worker.text())]
    assert received.count(BUILD) == 1, received
    report.refresh_from_db()
    files = sorted((media / "reports").rglob("*"))
    assert [f.name for f in files if f.is_file()] == [Path(report.file.name).name]
    assert PeriodReport.objects.count() == 1

    # The same message delivered again (a redelivery, or the sweep) builds nothing more.
    built = (report.file.name, report.size, report.finished_at)
    assert celery_app.conf.task_always_eager is False
    build_period_report.delay(report.pk)
    celery_processes.wait_for(
        lambda: len([f for f in finished(worker) if f[0] == BUILD]) == 2,
        seconds=30,
        what="the second delivery",
    )
    assert [result for name, _, result in finished(worker) if name == BUILD] == ["True", "False"]
    report.refresh_from_db()
    assert (report.file.name, report.size, report.finished_at) == built
    assert len([f for f in (media / "reports").rglob("*") if f.is_file()]) == 1

    download = clients[1].get(download_url(report))
    assert download["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(download.streaming_content))
    assert "马南社区" in text and f"{quarter_issues.period.since:%Y-%m-%d}" in text
    assert "Traceback" not in worker.text(), worker.text()[-5000:]


def test_the_report_shows_how_many_ratings_staff_recorded_within_the_satisfied_share(
    manan, xingfu, nanen, manan_staff, xingfu_staff, nanen_admin
):
    from issues import reviews
    from tests.helpers import reviews as review_states

    def rated(community, staff, satisfaction: int, source: str) -> None:
        review = review_states.sent(community, staff)
        reviews.review_rate(
            review=review, actor=None if source == "link" else staff, fixed="yes",
            satisfaction=satisfaction, source=source,
        )  # fmt: skip
        factories.moved(review.issue, created=local(dt.date(2025, 2, 10)))

    rated(manan, manan_staff, 5, "link")
    rated(manan, manan_staff, 4, "phone")
    rated(xingfu, xingfu_staff, 3, "in_person")  # rated, not satisfied
    report = a_report(
        street=nanen, actor=nanen_admin, period=Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    )

    with translation.override("en"):
        html = period_reports.render_html(report)

    # By hand: 3 rated, 2 of them by staff; satisfied 2 of 3 (the phone 4 counts).
    row = re.search(r'<tr class="rated-by-staff">(.*?)</tr>', html, re.S)[1]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells == ["rated, as recorded by staff", "2", "of 3 rated"]
    satisfied = r'rated satisfied \(4–5\)</td><td class="num">2</td><td class="num">67%'
    assert re.search(satisfied, html)
