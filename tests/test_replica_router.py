"""Heavy reads on a streaming replica (common/replica.py).

On PostgreSQL these tests read from a real streaming replica of the test cluster: the one
DATABASE_REPLICA_URL names (``.ci/run`` starts it), or one deploy/replica.sh starts for
them. Rows must be committed and replayed before the replica has them, so the tests that
read from it are transactional and wait for the replay. On SQLite there is no replica to
stream to: the same tests prove that everything stays on the primary and still works, and
the tests of a replica that does not answer run on both.
"""

from __future__ import annotations

import logging
import os
import re

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common import replica
from common.replica import COOKIE, REPLICA, PrimaryAfterWriteMiddleware, reading_from_replica
from issues import queries as issue_queries
from issues.actions import exports as export_jobs
from issues.models import Issue
from members.models import ExportRecord
from reports import period_reports
from reports.models import PeriodReport
from tests import factories
from tests.helpers import replica as live

ON_ALL = pytest.mark.django_db(transaction=True, databases="__all__")
UNREACHABLE = "read replica unreachable"


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup, django_db_blocker):
    """The ``replica`` alias for the module, there before each test says which databases
    it uses: the live replica of the settings, or one deploy/replica.sh starts; on SQLite
    one whose server does not answer (the tests that want none take it away)."""
    if REPLICA in settings.DATABASES:
        yield
        return
    live.attach(live.start(os.environ["DATABASE_URL"]) if live.on_postgresql() else live.DEAD_URL)
    yield
    live.detach()


@pytest.fixture
def streaming(settings):
    """True with a live replica as ``replica``; False on SQLite, where the alias is taken
    away for the test (as without DATABASE_REPLICA_URL)."""
    replica.health.reset()
    up = live.on_postgresql()
    kept = None
    if up:
        live.resume_replay()  # a test stopped half-way may have left it paused
    else:
        kept = settings.DATABASES.pop(REPLICA)
    yield up
    if up:
        live.resume_replay()
    else:
        settings.DATABASES[REPLICA] = kept
    replica.health.reset()


@pytest.fixture
def unreachable():
    """The ``replica`` alias pointed at a server that does not answer (nothing listens)."""
    replica.health.reset()
    before = live.point_at(live.DEAD_URL)
    yield
    live.restore(before)
    replica.health.reset()


@pytest.fixture
def no_replica(settings):
    """The settings as without DATABASE_REPLICA_URL, whatever the environment says."""
    kept = settings.DATABASES.pop(REPLICA, None)
    yield
    if kept is not None:
        settings.DATABASES[REPLICA] = kept


def three_matters(community) -> None:
    for _ in range(3):
        factories.issue(community)


def collected(page: str) -> int:
    """The "collected" figure a dashboard shows."""
    found = re.search(r'data-figure="collected"><span class="figure">(?:<a [^>]*>)?(\d+)', page)
    assert found, "no collected figure on the page"
    return int(found.group(1))


def replica_selects(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "issues_" in q["sql"]]


def community_dashboard(community) -> str:
    return reverse("reports:community_dashboard", args=[community.pk])


def street_dashboard(street) -> str:
    return reverse("reports:street_dashboard", args=[street.pk])


# --- The dashboards ------------------------------------------------------------------------


@ON_ALL
def test_the_dashboards_read_their_figures_from_the_replica(
    streaming, manan, nanen_admin, manan_staff, as_user
):
    three_matters(manan)
    if streaming:
        live.wait_for_replay()
    for user, url in (
        (manan_staff, community_dashboard(manan)),
        (nanen_admin, street_dashboard(manan.street)),
    ):
        client = as_user(user)
        with (
            CaptureQueriesContext(connections["default"]) as on_primary,
            _on_replica(streaming) as on_replica,
        ):
            response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200
        assert collected(page) == 3
        assert "as-of" not in page
        primary_figures = replica_selects(on_primary)
        if streaming:
            # The figures came from the replica; the primary answered who may see what.
            assert replica_selects(on_replica), "the replica saw no query"
            assert all(q.lstrip().upper().startswith("SELECT") for q in replica_selects(on_replica))
            assert not [q for q in primary_figures if "issues_issue" in q]
        else:
            assert primary_figures


@ON_ALL
def test_a_replica_behind_makes_the_dashboard_and_a_report_say_as_of_its_time(
    streaming, manan, manan_staff, nanen_admin, as_user, settings, monkeypatch
):
    monkeypatch.setattr(period_reports, "_send", lambda report_id: None)
    settings.YISHI_REPLICA_LAG_NOTICE_SECONDS = 0
    three_matters(manan)
    client = as_user(manan_staff)
    if not streaming:  # SQLite: the figures are the primary's, current, and say no time
        factories.issue(manan)
        page = client.get(community_dashboard(manan)).content.decode()
        assert collected(page) == 4 and "as-of" not in page
        return
    report, _ = period_reports.report_request(
        actor=manan_staff, kind=PeriodReport.Kind.YEAR, community=manan,
        period=period_reports.report_period("year", 2026, None, today=timezone.localdate()),
    )  # fmt: skip
    live.wait_for_replay()
    live.pause_replay()
    try:
        factories.issue(manan)  # on the primary, not yet applied on the replica
        live.wait_for_replay(position="receive")  # received: it waits to be applied
        as_of = live.replayed_at()
        response = client.get(community_dashboard(manan))
        page = response.content.decode()
        assert response.status_code == 200
        assert collected(page) == 3  # the replica's figures, without the fourth matter
        local = timezone.localtime(as_of)
        assert f'data-as-of="{local.isoformat()}"' in page
        assert f"{local:%H:%M}" in page
        street_page = as_user(nanen_admin).get(street_dashboard(manan.street))
        assert street_page.status_code == 200 and "as-of" in street_page.content.decode()
        # A period report built now says as of when its figures are.
        with reading_from_replica():
            html = period_reports.render_html(report)
        assert f"{local:%Y-%m-%d %H:%M}" in html and "as-of" in html
    finally:
        live.resume_replay()
    live.wait_for_replay()
    settings.YISHI_REPLICA_LAG_NOTICE_SECONDS = 60
    page = client.get(community_dashboard(manan)).content.decode()
    assert collected(page) == 4 and "as-of" not in page


# --- Reading one's own writes --------------------------------------------------------------


@ON_ALL
def test_a_page_after_a_write_reads_the_primary(
    streaming, manan, manan_staff, as_user, monkeypatch
):
    monkeypatch.setattr(period_reports, "_send", lambda report_id: None)  # no PDF needed
    three_matters(manan)
    if streaming:
        live.wait_for_replay()
    client = as_user(manan_staff)
    asked = client.post(
        reverse("reports:community_report", args=[manan.pk]), {"kind": "year", "year": "2026"}
    )
    assert asked.status_code == 302 and PeriodReport.objects.count() == 1
    if not streaming:  # no replica: nothing to mark, and the page reads the primary
        assert COOKIE not in asked.cookies
        assert collected(client.get(community_dashboard(manan)).content.decode()) == 3
        return
    assert asked.cookies[COOKIE]["max-age"] == settings.YISHI_REPLICA_STICKY_SECONDS
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        page = client.get(community_dashboard(manan))
    assert page.status_code == 200 and collected(page.content.decode()) == 3
    assert on_replica.captured_queries == []  # the person who just wrote reads the primary

    client.cookies[COOKIE] = "0"  # the few seconds have passed
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        client.get(community_dashboard(manan))
    assert replica_selects(on_replica)


@ON_ALL
def test_a_request_that_wrote_reads_the_rest_from_the_primary(streaming, manan):
    issue = factories.issue(manan)
    if streaming:
        live.wait_for_replay()
    seen = []

    def view(request, write: bool):
        if write:
            Issue.objects.filter(pk=issue.pk).update(title="楼道堆物")
        with reading_from_replica() as snapshot:
            seen.append(snapshot.database)
            seen.append(Issue.objects.get(pk=issue.pk).title)
        return HttpResponse()

    reader = PrimaryAfterWriteMiddleware(lambda request: view(request, write=False))
    writer = PrimaryAfterWriteMiddleware(lambda request: view(request, write=True))
    quiet = reader(RequestFactory().get("/"))
    wrote = writer(RequestFactory().post("/"))

    expected_reader = REPLICA if streaming else "default"
    assert seen == [expected_reader, issue.title, "default", "楼道堆物"]
    assert COOKIE not in quiet.cookies
    assert (COOKIE in wrote.cookies) is streaming


@pytest.mark.django_db
def test_inside_a_transaction_reads_stay_on_the_primary(manan):
    with transaction.atomic():
        issue = factories.issue(manan)
        with reading_from_replica() as snapshot:
            assert snapshot.database == "default"
            assert Issue.objects.filter(pk=issue.pk).exists()  # its own, uncommitted row


@pytest.mark.django_db
def test_without_a_replica_nothing_changes(no_replica, manan, manan_staff, as_user, monkeypatch):
    monkeypatch.setattr(period_reports, "_send", lambda report_id: None)
    three_matters(manan)
    client = as_user(manan_staff)
    with reading_from_replica() as snapshot:
        assert snapshot == replica.PRIMARY
    asked = client.post(
        reverse("reports:community_report", args=[manan.pk]), {"kind": "year", "year": "2026"}
    )
    assert COOKIE not in asked.cookies
    page = client.get(community_dashboard(manan)).content.decode()
    assert collected(page) == 3 and "as-of" not in page
    assert replica.ReplicaRouter().db_for_read(Issue) is None
    assert replica.ReplicaRouter().allow_migrate("default", "issues") is None


# --- Exports and period reports ------------------------------------------------------------


@ON_ALL
def test_an_export_and_a_period_report_are_built_from_the_replica(
    streaming, manan, manan_staff, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(period_reports, "_send", lambda report_id: None)
    monkeypatch.setattr(export_jobs, "_send", lambda job_id: None)
    three_matters(manan)
    job, _ = export_jobs.export_request(
        actor=manan_staff, format="csv", filters=issue_queries.InboxFilters(), full_phones=False
    )
    report, _ = period_reports.report_request(
        actor=manan_staff, kind=PeriodReport.Kind.YEAR,
        period=period_reports.report_period("year", 2026, None, today=timezone.localdate()),
        community=manan,
    )  # fmt: skip
    if streaming:
        live.wait_for_replay()
    with _on_replica(streaming) as on_replica:
        assert export_jobs.export_build(job.pk)
        assert period_reports.report_build(report.pk)
    job.refresh_from_db()
    report.refresh_from_db()
    assert (job.status, job.rows) == (ExportRecord.Status.DONE, 3)
    assert report.state == PeriodReport.State.DONE and report.size > 0
    if streaming:
        tables = " ".join(replica_selects(on_replica))
        assert "issues_issue" in tables  # the export's rows and the report's figures


# --- A replica that does not answer --------------------------------------------------------


@ON_ALL
def test_a_replica_that_does_not_answer_leaves_the_pages_on_the_primary(
    unreachable, manan, manan_staff, nanen_admin, as_user, caplog, monkeypatch, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(export_jobs, "_send", lambda job_id: None)
    three_matters(manan)
    with caplog.at_level(logging.WARNING, logger="common.replica"):
        for user, url in (
            (manan_staff, community_dashboard(manan)),
            (manan_staff, community_dashboard(manan)),
            (nanen_admin, street_dashboard(manan.street)),
        ):
            response = as_user(user).get(url)
            assert response.status_code == 200
            assert collected(response.content.decode()) == 3
        job, _ = export_jobs.export_request(
            actor=manan_staff, format="csv", filters=issue_queries.InboxFilters(),
            full_phones=False,
        )  # fmt: skip
        assert export_jobs.export_build(job.pk)
    job.refresh_from_db()
    assert job.rows == 3
    said = [r for r in caplog.records if UNREACHABLE in r.getMessage()]
    assert len(said) == 1  # logged once, not on every page


@ON_ALL
def test_a_replica_that_answers_again_is_used_again(streaming, manan, manan_staff, as_user):
    """After the retry delay the replica is asked again (on SQLite: still the primary)."""
    three_matters(manan)
    if streaming:
        live.wait_for_replay()
        before = live.point_at(live.DEAD_URL)
        with reading_from_replica() as snapshot:
            assert snapshot.database == "default"
        live.restore(before)
        replica.health.down_until = 0  # the retry delay is over
    with reading_from_replica() as snapshot:
        assert snapshot.database == (REPLICA if streaming else "default")
        assert Issue.objects.filter(community=manan).count() == 3


@ON_ALL
def test_work_the_replica_drops_half_way_runs_again_on_the_primary(streaming, manan, caplog):
    three_matters(manan)
    if streaming:
        live.wait_for_replay()
    runs = []
    moved = {}

    def figures() -> int:
        runs.append(replica.ReplicaRouter().db_for_read(Issue) or "default")
        if streaming and len(runs) == 1:
            moved.update(live.point_at(live.DEAD_URL))  # the replica goes away mid-way
        return Issue.objects.filter(community=manan).count()

    with caplog.at_level(logging.WARNING, logger="common.replica"):
        result, snapshot = replica.read_on_replica(figures)
    if moved:
        live.restore(moved)
    assert result == 3
    assert snapshot == replica.PRIMARY
    if streaming:
        assert runs == [REPLICA, "default"]
        assert [r for r in caplog.records if UNREACHABLE in r.getMessage()]
    else:
        assert runs == ["default"]


class _nothing:
    captured_queries: list = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _on_replica(streaming: bool):
    return CaptureQueriesContext(connections[REPLICA]) if streaming else _nothing()
