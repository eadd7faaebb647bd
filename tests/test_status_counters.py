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

from issues import queries, rollup, search, tasks
from issues.actions import escalations, handling, intake
from issues.models import Category, Issue, IssueCount, PairCount
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


def kept_pairs() -> dict[tuple[str, int, int, str], int]:
    rows = PairCount.objects.filter(n__gt=0)
    return {(r.pair, r.community_id, r.category_id, r.status): r.n for r in rows}


def counted_pairs() -> dict[tuple[str, int, int, str], int]:
    """Each issue's pairs, from its text as it reads now."""
    result: dict[tuple[str, int, int, str], int] = {}
    for issue in Issue.objects.all():
        for pair in set(search.bigrams(f"{issue.title} {issue.description} {issue.place}")):
            key = (pair, issue.community_id, issue.category_id, issue.status)
            result[key] = result.get(key, 0) + 1
    return result


def searched(user, q: str, **filters) -> dict[str, int]:
    """The counts per status of a search, counted from the issues it finds."""
    found = queries._filtered(user, queries.InboxFilters(q=q, **filters))
    result: dict[str, int] = {}
    for status in found.values_list("status", flat=True):
        result[status] = result.get(status, 0) + 1
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
            words = rng.choice(["电梯又坏了", "路灯不亮了", "楼道堆物"])
            category = Category.objects.get(
                street=manan.street, code=rng.choice(["parking", "lights"])
            )
            intake.issue_edit(issue=issue, actor=actor, expected_version=None, title=words,
                              category=category)  # fmt: skip
            taken.add("edit")
        else:
            status = rng.choice(Issue.Status.values)
            factories.moved(issue, status=status)  # an import, refreshed as the actions do
            taken.add("moved")
        assert kept() == counted(), step
        assert kept_pairs() == counted_pairs(), step

    assert {"report", "start", "resolve", "reopen", "defer", "escalate", "moved", "edit"} <= taken
    assert len({status for _c, status in kept()}) >= 5
    # What the pairs' counts answer is what the search finds.
    for q in ("电梯", "路灯", "不亮"):
        for filters in ({}, {"community": manan.pk}, {"state": "open"}):
            assert queries.status_counts(
                nanen_admin, queries.InboxFilters(q=q, **filters)
            ).by_status == (searched(nanen_admin, q, **filters)), (q, filters)


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
    logged = [m for m in logged if m.startswith("issue count")]
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

    # A word of three characters: its pairs' counts only bound it.
    page = client.get(reverse("issues:inbox"), {"q": "电梯坏"}).content.decode()
    assert "<b>3+</b>" in page
    assert "count-capped" in page and 'count=exact" rel="nofollow"' in page
    assert "超过 3 条问题符合条件" in page  # explained, in the default language

    exact = client.get(reverse("issues:inbox"), {"q": "电梯坏", "count": "exact"}).content.decode()
    assert "count-capped" not in exact
    assert "<b>5</b>" in exact

    few = queries.status_counts(manan_staff, queries.InboxFilters(q="路灯不"))
    assert (few.by_status, few.total, few.capped) == ({"submitted": 1}, 1, False)
    # A word of two is counted exactly from the kept counts, past the cap.
    common = client.get(reverse("issues:inbox"), {"q": "电梯"}).content.decode()
    assert "count-capped" not in common and "<b>5</b>" in common


def test_a_two_character_search_is_counted_from_the_pairs_counts_in_one_statement(
    manan, xingfu, manan_staff, nanen_admin
):
    lifts = Category.objects.create(street=manan.street, code="lifts", name="电梯")
    for n in range(3):
        factories.issue(manan, actor=manan_staff, title=f"{n}号楼电梯停运", code="lifts")
    factories.issue(manan, actor=manan_staff, title="路灯不亮", description="电梯口的灯")
    factories.resolved_issue(xingfu, actor=nanen_admin, title="电梯异响")
    factories.issue(xingfu, actor=nanen_admin, title="电 梯")  # not the word: apart
    queries.scope_of(nanen_admin)

    with CaptureQueriesContext(connection) as statements:
        counts = queries.status_counts(nanen_admin, queries.InboxFilters(q=" 电梯 "))
    assert len(statements) == 1
    assert '"issues_issue"' not in statements[0]["sql"]
    assert counts.by_status == {"submitted": 4, "resolved": 1} == searched(nanen_admin, "电梯")
    assert counts.exact and not counts.capped
    by_category = queries.status_counts(
        nanen_admin, queries.InboxFilters(q="电梯", category=lifts.pk)
    )
    assert by_category.by_status == {"submitted": 3}
    assert queries.status_counts(manan_staff, queries.InboxFilters(q="电梯")).total == 4
    open_only = queries.status_counts(nanen_admin, queries.InboxFilters(q="电梯", state="open"))
    assert open_only.by_status == {"submitted": 4}
    assert queries.status_counts(nanen_admin, queries.InboxFilters(q="12")).total == 0

    # Not one word of two Chinese characters or digits: counted from the issues.
    for q in ("电梯 路灯", "电", "ab", "电梯停运"):
        with CaptureQueriesContext(connection) as statements:
            queries.status_counts(nanen_admin, queries.InboxFilters(q=q))
        assert '"issues_issue"' in statements[-1]["sql"], q
    # Nor with a filter the pairs' counts do not hold.
    with CaptureQueriesContext(connection) as statements:
        tier = queries.status_counts(nanen_admin, queries.InboxFilters(q="电梯", tier="council"))
    assert '"issues_issue"' in statements[-1]["sql"]
    assert tier.by_status == searched(nanen_admin, "电梯", tier="council")


def test_the_nightly_task_repairs_the_pairs_counts_written_around_the_actions(
    manan, xingfu, manan_staff, caplog
):
    issue = factories.issue(manan, actor=manan_staff, title="电梯坏了")
    factories.issue(xingfu, actor=None, title="路灯不亮")
    document = search.document("水管漏水", "", "")
    Issue.objects.filter(pk=issue.pk).update(title="水管漏水", search_bigrams=document)
    PairCount.objects.filter(community=xingfu, pair="路灯").update(n=9)

    with caplog.at_level(logging.WARNING, logger="issues.rollup"):
        tasks.refresh_issue_months()

    assert kept_pairs() == counted_pairs()
    assert {pair for pair, *_rest in kept_pairs()} >= {"水管", "漏水", "路灯"}
    assert "电梯" not in {pair for pair, *_rest in kept_pairs()}
    logged = [r.getMessage() for r in caplog.records if "character pair" in r.getMessage()]
    assert len(logged) == 2  # one line for each community
    assert rollup.repair_pair_counts() == 0


def test_an_issue_saved_from_a_partial_read_still_keeps_its_pairs_counted(manan, manan_staff):
    issue = factories.issue(manan, actor=manan_staff, title="电梯坏了")
    partial = Issue.objects.only("pk", "title", "version").get(pk=issue.pk)
    partial.status = Issue.Status.DEFERRED
    partial.search_bigrams = search.document("楼道堆物", "", "")
    partial.title = "楼道堆物"
    from issues import events

    events.save(partial, ["status", "title", "search_bigrams"])
    assert kept_pairs() == counted_pairs()
    assert kept() == counted()


def _issue_reads(statements) -> list[str]:
    return [s["sql"] for s in statements if 'FROM "issues_issue"' in s["sql"]]


def test_a_search_known_to_match_few_or_none_reads_no_more_than_it_needs(
    manan, manan_staff, nanen_admin
):
    for n in range(40):
        factories.issue(manan, actor=manan_staff, title=f"路灯不亮{n}")
    factories.issue(manan, actor=manan_staff, title="化粪池满了")
    lifts = Category.objects.create(street=manan.street, code="lifts", name="电梯")
    client = client_for(manan_staff)
    inbox = reverse("issues:inbox")

    # Counted exactly as none: the page is not read at all.
    with CaptureQueriesContext(connection) as statements:
        response = client.get(inbox, {"q": "电梯", "category": lifts.pk})
    assert response.status_code == 200 and not response.context["page"].rows
    assert _issue_reads(statements) == []

    # Counted as one: the index lookup at once, not a walk over the newest issues first
    # (on PostgreSQL that walk is two more statements: its end and its rows).
    with CaptureQueriesContext(connection) as statements:
        response = client.get(inbox, {"q": "化粪池"})
    assert [issue.title for issue in response.context["page"].rows] == ["化粪池满了"]
    assert len(_issue_reads(statements)) == 2  # the bounded count, the page

    # A common word still pages through every match.
    first = client.get(inbox, {"q": "路灯"})
    assert len(first.context["page"].rows) == 30 and first.context["total"] == 40
