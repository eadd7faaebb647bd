"""The inbox's counts per status: kept per community and status by the actions, so the inbox
reads a few rows instead of every issue; repaired by the nightly task; and, for filters the
counts cannot answer, counted only up to a cap unless asked for the exact figure."""

from __future__ import annotations

import logging
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from issues import queries, rollup, tasks
from issues.actions import escalations, handling, intake
from issues.models import Category, Issue, IssueCount
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def kept() -> dict[tuple[int, str], int]:
    return {(r.community_id, r.status): r.n for r in IssueCount.objects.filter(n__gt=0)}


def counted() -> dict[tuple[int, str], int]:
    rows = Issue.objects.order_by().values_list("community_id", "status")
    result: dict[tuple[int, str], int] = {}
    for key in rows:
        result[key] = result.get(key, 0) + 1
    return result


def test_every_action_keeps_the_counts_equal_to_a_count_of_the_issues(
    manan, xingfu, manan_staff, xingfu_staff, nanen_admin
):
    rng = random.Random(19)
    staff = {manan.pk: manan_staff, xingfu.pk: xingfu_staff}
    # Categories that need no meeting before a resolution: every transition may be taken.
    for code in ("parking", "lights"):
        Category.objects.create(street=manan.street, code=code, name=code, must_deliberate=False)
    issues: list[Issue] = []
    taken: set[str] = set()
    for step in range(90):
        choice = rng.random()
        if choice < 0.2 or not issues:
            community = rng.choice([manan, xingfu])
            actor = rng.choice([staff[community.pk], None])  # staff intake or the public form
            issues.append(
                factories.issue(community, actor=actor, code=rng.choice(["parking", "lights"]),
                                channel=rng.choice(Issue.Channel.values))
            )  # fmt: skip
            taken.add("report")
            continue
        issue = Issue.objects.get(pk=rng.choice(issues).pk)
        actor = staff[issue.community_id]
        if choice < 0.7:
            possible = [t.name for t in handling.lifecycle.available(issue)]
            if possible:
                name = rng.choice(possible)
                handling.issue_transition(issue=issue, actor=actor, name=name, note=f"第{step}次")
                taken.add(name)
        elif choice < 0.8 and issue.is_open and issue.tier in ("council", "community"):
            escalations.issue_escalate(issue=issue, actor=actor, reason="上报")
            taken.add("escalate")
        elif choice < 0.9:
            intake.issue_edit(issue=issue, actor=actor, expected_version=None, title="改了标题")
            taken.add("edit")
        else:
            status = rng.choice(Issue.Status.values)
            factories.moved(issue, status=status)  # an import, refreshed as the actions do
            taken.add("moved")
        assert kept() == counted(), step

    assert {"report", "start", "resolve", "reopen", "defer", "escalate", "moved"} <= taken
    assert len({status for _c, status in kept()}) >= 5


def test_a_report_from_the_public_form_and_an_escalation_answered_keep_the_counts(
    manan, manan_staff, nanen_admin
):
    from tests.helpers.issues import accept, to_street

    issue = factories.issue(manan, actor=None, channel="public_form")
    accept(to_street(issue, manan_staff), nanen_admin)
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.IN_PROGRESS
    assert kept() == counted() == {(manan.pk, "in_progress"): 1}


def test_the_nightly_task_repairs_counts_written_around_the_actions_and_logs_them(
    manan, xingfu, manan_staff, caplog
):
    issue = factories.issue(manan, actor=manan_staff)
    factories.issue(xingfu, actor=None)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.CLOSED)  # no action
    IssueCount.objects.filter(community=xingfu).update(n=7)

    with caplog.at_level(logging.WARNING, logger="issues.rollup"):
        tasks.refresh_issue_months()

    assert kept() == counted() == {(manan.pk, "closed"): 1, (xingfu.pk, "submitted"): 1}
    logged = [r.getMessage() for r in caplog.records if r.name == "issues.rollup"]
    assert len(logged) == 3  # manan submitted 1→0, closed 0→1; xingfu submitted 7→1
    assert any(f"community {xingfu.pk}, status submitted was 7, counted 1" in m for m in logged)
    # A second run finds nothing off.
    assert rollup.repair_counts() == 0


def test_the_inbox_counts_come_from_the_kept_counts_in_one_statement(
    manan, xingfu, manan_staff, nanen_admin
):
    for _n in range(3):
        factories.issue(manan, actor=manan_staff)
    factories.resolved_issue(xingfu, actor=nanen_admin)
    # The kept figure is what the page shows: no issue is counted for it.
    IssueCount.objects.filter(community=manan, status="submitted").update(n=4321)
    queries.scope_of(nanen_admin)

    with CaptureQueriesContext(connection) as statements:
        counts = queries.status_counts(nanen_admin, queries.InboxFilters(state="open"))
    assert len(statements) == 1
    assert '"issues_issue"' not in statements[0]["sql"]
    assert counts.by_status == {"submitted": 4321}

    street_counts = queries.status_counts(nanen_admin, queries.InboxFilters(street=manan.street_id))
    assert street_counts.by_status == {"submitted": 4321, "resolved": 1}
    assert street_counts.total == 4322 and not street_counts.capped
    only_xingfu = queries.status_counts(nanen_admin, queries.InboxFilters(community=xingfu.pk))
    assert only_xingfu.by_status == {"resolved": 1}
    # Staff of one community see only its counts.
    assert queries.status_counts(manan_staff, queries.InboxFilters()).by_status == {
        "submitted": 4321
    }


def test_a_count_the_counters_cannot_answer_stops_at_the_cap_with_a_way_to_count_all(
    manan, manan_staff, monkeypatch
):
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for n in range(5):
        factories.issue(manan, actor=manan_staff, title=f"电梯坏了{n}")
    factories.issue(manan, actor=manan_staff, title="路灯不亮")
    client = client_for(manan_staff)

    page = client.get(reverse("issues:inbox"), {"q": "电梯"}).content.decode()
    assert "<b>3+</b>" in page
    assert "count-capped" in page and 'count=exact" rel="nofollow"' in page
    assert "超过 3 条问题符合条件" in page  # explained, in the default language

    exact = client.get(reverse("issues:inbox"), {"q": "电梯", "count": "exact"}).content.decode()
    assert "count-capped" not in exact
    assert "<b>5</b>" in exact

    few = queries.status_counts(manan_staff, queries.InboxFilters(q="路灯"))
    assert (few.by_status, few.total, few.capped) == ({"submitted": 1}, 1, False)
