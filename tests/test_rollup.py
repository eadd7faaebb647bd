"""The dashboards' monthly roll-up (``issues.rollup``): exact after every action, whatever
the order, repaired by the nightly task, and not lost to two writers of one month."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from common.periods import Period, named_period
from issues import rollup, tasks
from issues.actions import escalations, handling, intake
from issues.figures import percentile_cont
from issues.models import Category, DepartmentMonth, Escalation, Issue, IssueMonth
from reports import dashboard
from tests import factories
from tests.helpers.clock import local
from tests.helpers.issues import accept, to_street

pytestmark = pytest.mark.django_db


def kept(community, month: dt.date) -> rollup.MonthFigures:
    row = IssueMonth.objects.filter(community=community, month=month).first()
    return rollup.MonthFigures.from_row(row) if row else rollup.MonthFigures()


def live(community, month: dt.date) -> rollup.MonthFigures:
    start, end = rollup.month_bounds(month)
    return rollup.month_figures([community.pk], start, end).get(community.pk, rollup.MonthFigures())


def months_of(community) -> set[dt.date]:
    issues = Issue.objects.filter(community=community)
    moments = [m for pair in issues.values_list("created", "resolved_at") for m in pair if m]
    stored = IssueMonth.objects.filter(community=community).values_list("month", flat=True)
    return {rollup.month_of(m) for m in moments} | set(stored)


def assert_kept_as_live(community) -> None:
    for month in sorted(months_of(community)):
        assert kept(community, month) == live(community, month), month


def this_month() -> dt.date:
    return timezone.localdate().replace(day=1)


def test_a_report_counts_at_once_in_its_month(manan, manan_staff):
    factories.issue(manan, actor=manan_staff, code="environment", channel="hotline")

    month = kept(manan, this_month())
    environment = Category.objects.get(street=manan.street, code="environment")
    assert (month.collected, month.resolved) == (1, 0)
    assert month.categories == Counter({environment.pk: 1})
    assert month.channels == Counter({"hotline": 1})
    assert month.tiers == Counter({"council": 1})


def test_resolving_adds_the_seconds_from_report_to_resolution(manan, manan_staff):
    issue = factories.resolved_issue(manan, actor=manan_staff)
    issue.refresh_from_db()

    seconds = round((issue.resolved_at - issue.created).total_seconds())
    assert list(kept(manan, this_month()).resolution_seconds) == [seconds]


def test_a_reopen_takes_the_resolution_out_of_the_month_it_was_in(manan, manan_staff):
    issue = factories.resolved_issue(manan, actor=manan_staff)
    issue = factories.moved(issue, created=local(2025, 1, 20), resolved_at=local(2025, 2, 3))
    assert kept(manan, dt.date(2025, 2, 1)).resolved == 1

    handling.issue_transition(issue=issue, actor=manan_staff, name="reopen", note="又坏了")

    assert kept(manan, dt.date(2025, 2, 1)).resolved == 0
    assert kept(manan, dt.date(2025, 1, 1)).collected == 1
    assert_kept_as_live(manan)


def test_an_escalation_and_a_new_category_move_the_issue_between_breakdowns(manan, manan_staff):
    issue = factories.issue(manan, actor=manan_staff, code="other")
    issue = factories.moved(issue, created=local(2025, 3, 5))
    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="需要社区协调")
    security = Category.objects.get(street=manan.street, code="security")
    intake.issue_edit(
        issue=Issue.objects.get(pk=issue.pk), actor=manan_staff, expected_version=None,
        category=security,
    )  # fmt: skip

    march = kept(manan, dt.date(2025, 3, 1))
    assert march.tiers == Counter({"community": 1})
    assert march.categories == Counter({security.pk: 1})
    assert march.collected == 1


def test_the_kept_months_equal_the_issues_after_any_sequence_of_actions(
    manan, xingfu, manan_staff, xingfu_staff
):
    rng = random.Random(7)
    staff = {manan.pk: manan_staff, xingfu.pk: xingfu_staff}
    # Categories that need no meeting before a resolution: every issue may be resolved.
    for code in ("parking", "lights"):
        Category.objects.create(street=manan.street, code=code, name=code, must_deliberate=False)
    codes = ["other", "parking", "lights"]
    months = [local(2025, m, d, h) for m, d, h in [(1, 31, 23), (2, 1, 0), (2, 14, 9), (3, 1, 8)]]
    issues: list[Issue] = []
    for step in range(60):
        choice = rng.random()
        if choice < 0.25 or not issues:
            community = rng.choice([manan, xingfu])
            issues.append(
                factories.issue(community, actor=staff[community.pk], code=rng.choice(codes),
                                channel=rng.choice(Issue.Channel.values))
            )  # fmt: skip
            continue
        issue = Issue.objects.get(pk=rng.choice(issues).pk)
        actor = staff[issue.community_id]
        if choice < 0.4:
            created = rng.choice(months)
            resolved = (
                created + dt.timedelta(hours=rng.randint(1, 900)) if issue.resolved_at else None
            )
            factories.moved(issue, created=created, resolved_at=resolved)
        elif choice < 0.55 and issue.status in (Issue.Status.SUBMITTED, Issue.Status.REOPENED):
            handling.issue_transition(issue=issue, actor=actor, name="start")
        elif choice < 0.7 and issue.status == Issue.Status.IN_PROGRESS:
            handling.issue_transition(issue=issue, actor=actor, name="resolve")
        elif choice < 0.8 and issue.status == Issue.Status.RESOLVED:
            handling.issue_transition(issue=issue, actor=actor, name="reopen", note=f"第{step}次")
        elif choice < 0.9 and issue.is_open and issue.tier in ("council", "community"):
            escalations.issue_escalate(issue=issue, actor=actor, reason="上报")
        else:
            category = Category.objects.get(street=manan.street, code=rng.choice(codes))
            intake.issue_edit(issue=issue, actor=actor, expected_version=None, category=category)

    assert IssueMonth.objects.filter(collected__gt=0).count() >= 4
    assert any(kept(c, m).resolved for c in (manan, xingfu) for m in months_of(c))
    for community in (manan, xingfu):
        assert_kept_as_live(community)


def test_the_nightly_task_repairs_what_was_written_around_the_actions(manan, manan_staff):
    issue = factories.resolved_issue(manan, actor=manan_staff)
    IssueMonth.objects.filter(community=manan).update(collected=99, resolution_seconds=b"")
    Issue.objects.filter(pk=issue.pk).update(channel="hotline")  # no action: no refresh

    assert tasks.refresh_issue_months() >= 1
    repaired = kept(manan, this_month())
    assert (repaired.collected, repaired.resolved, repaired.channels) == (
        1, 1, Counter({"hotline": 1})
    )  # fmt: skip

    # Recomputed, not added to: a second run (a redelivered message) changes nothing.
    before = list(IssueMonth.objects.values())
    tasks.refresh_issue_months()
    assert list(IssueMonth.objects.values()) == [
        {**row, "refreshed_at": after["refreshed_at"]}
        for row, after in zip(before, IssueMonth.objects.values(), strict=True)
    ]


def test_the_command_rebuilds_from_a_month_on(manan, manan_staff, capsys):
    old = factories.moved(factories.issue(manan, actor=manan_staff), created=local(2024, 11, 3))
    recent = factories.moved(factories.issue(manan, actor=manan_staff), created=local(2025, 2, 3))
    IssueMonth.objects.all().delete()

    call_command("refresh_issue_months", since="2025-01-15")

    assert kept(manan, dt.date(2024, 11, 1)).collected == 0  # before --since: untouched
    assert kept(manan, dt.date(2025, 2, 1)).collected == 1
    assert "months recomputed" in capsys.readouterr().out
    call_command("refresh_issue_months")
    assert kept(manan, dt.date(2024, 11, 1)).collected == 1
    assert {old.pk, recent.pk} == set(Issue.objects.values_list("pk", flat=True))


def test_whole_months_come_from_the_roll_up_and_cut_ones_from_the_issues():
    period = Period(dt.date(2025, 1, 10), dt.date(2025, 3, 31))
    whole, cut = dashboard.month_windows(period, now=local(2025, 6, 1))
    assert whole == [dt.date(2025, 2, 1), dt.date(2025, 3, 1)]
    assert cut == [(dt.date(2025, 1, 1), local(2025, 1, 10), local(2025, 2, 1))]

    # "This month" ends today, but nothing is reported after now: the month is whole.
    today = dt.date(2025, 6, 17)
    whole, cut = dashboard.month_windows(named_period("month", today), now=local(2025, 6, 17, 9))
    assert (whole, cut) == ([dt.date(2025, 6, 1)], [])
    # A range to a day before today cuts its month.
    whole, cut = dashboard.month_windows(Period(dt.date(2025, 6, 1), dt.date(2025, 6, 10)),
                                         now=local(2025, 6, 17, 9))  # fmt: skip
    assert whole == [] and [month for month, *_ in cut] == [dt.date(2025, 6, 1)]


def test_a_period_that_cuts_months_counts_only_its_own_days(manan, manan_staff):
    early = factories.issue(manan, actor=manan_staff)
    factories.moved(early, created=local(2025, 1, 5), resolved_at=local(2025, 1, 20),
                    status=Issue.Status.RESOLVED)  # fmt: skip
    late = factories.issue(manan, actor=manan_staff)
    factories.moved(late, created=local(2025, 1, 15), resolved_at=local(2025, 3, 25),
                    status=Issue.Status.RESOLVED)  # fmt: skip
    links = dashboard.InboxLinks(Period(dt.date(2025, 1, 10), dt.date(2025, 3, 20)))

    found = dashboard.dashboard([manan], links.period, links=links, today=dt.date(2025, 4, 1))

    # Reported on the 15th (not the 5th); resolved on the 20th (not 25 March).
    assert (found.totals.collected, found.totals.resolved) == (1, 1)
    assert [(row.collected, row.resolved) for row in found.months] == [(1, 1), (0, 0), (0, 0)]
    assert found.totals.median_days == 15.0


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_month_at_once_both_count(manan, manan_staff, monkeypatch):
    """Each writer recomputes the month: without the row lock, both would read the month
    before the other's resolution committed, and the second write would drop the first."""
    first, second = (factories.issue(manan, actor=manan_staff) for _ in range(2))
    for issue in (first, second):
        handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    barrier = threading.Barrier(2, timeout=3)
    counting = rollup.month_figures

    def month_figures_together(*args, **kwargs):
        if threading.current_thread().name.startswith("writer"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # both writers counting at once, if the lock lets them
        return counting(*args, **kwargs)

    monkeypatch.setattr(rollup, "month_figures", month_figures_together)
    errors = []

    def resolve(issue: Issue) -> None:
        try:
            handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve, args=(i,), name=f"writer{n}")
               for n, i in enumerate((first, second))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert barrier.broken  # the second writer waited for the first one's row
    assert kept(manan, this_month()).resolved == 2
    assert_kept_as_live(manan)


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_over_sorted_runs_are_those_of_all_their_values(seed):
    rng = random.Random(seed)
    runs = [sorted(rng.randint(0, 3_000_000) for _ in range(rng.randint(0, 40))) for _ in range(9)]
    runs.append([7, 7, 7])  # ties
    every = [value for run in runs for value in run]

    for fraction in (0.0, 0.5, 0.9, 1.0):
        assert rollup.percentile(runs, fraction) == pytest.approx(percentile_cont(every, fraction))


def test_percentiles_by_hand_and_of_nothing():
    # 2, 5 and 9 days, in two runs: median 5, 90th percentile 5 + 0.8 × (9 − 5) = 8.2.
    day = 86_400
    assert rollup.percentile([[2 * day, 9 * day], [5 * day]], 0.5) == 5 * day
    assert rollup.percentile([[2 * day, 9 * day], [5 * day]], 0.9) == pytest.approx(8.2 * day)
    assert rollup.percentile([[], []], 0.5) is None


def test_durations_are_stored_packed_and_read_back_as_they_were():
    seconds = [0, 59, 86_400, 2**31 - 1]
    assert len(rollup.pack(seconds)) == 4 * len(seconds)
    assert list(rollup.unpack(memoryview(rollup.pack(seconds)))) == seconds


# --- Departments ---------------------------------------------------------------------------


def kept_department(department, month: dt.date) -> rollup.DepartmentFigures:
    row = DepartmentMonth.objects.filter(department=department, month=month).first()
    return rollup.DepartmentFigures.from_row(row) if row else rollup.DepartmentFigures()


def live_department(department, month: dt.date) -> rollup.DepartmentFigures:
    start, end = rollup.month_bounds(month)
    return rollup.department_figures([department.pk], start, end).get(
        department.pk, rollup.DepartmentFigures()
    )


def test_an_assignment_and_its_handling_count_in_the_month_assigned(
    manan, manan_staff, nanen_admin, city_handler
):
    issues = [factories.issue(manan, actor=manan_staff) for _ in range(3)]
    accepted = [accept(to_street(issue, manan_staff), nanen_admin) for issue in issues]
    department = accepted[0].department
    assert kept_department(department, this_month()).assigned == 3
    assert kept_department(department, this_month()).handled == 0

    escalations.escalation_reply(escalation=accepted[0], actor=city_handler, reply="已处理")
    escalations.escalation_reply(escalation=accepted[1], actor=city_handler, reply="已处理")
    # Handling does not change the month: it is the month the street office assigned it.
    handled = Escalation.objects.get(pk=accepted[0].pk)
    seconds = round((handled.handled_at - handled.decided_at).total_seconds())

    month = kept_department(department, this_month())
    assert (month.assigned, month.handled) == (3, 2)
    assert seconds in month.handling_seconds
    assert month == live_department(department, this_month())


def test_the_nightly_task_repairs_a_departments_month(manan, manan_staff, nanen_admin):
    issue = factories.issue(manan, actor=manan_staff)
    escalation = accept(to_street(issue, manan_staff), nanen_admin)
    DepartmentMonth.objects.update(assigned=0)
    Escalation.objects.filter(pk=escalation.pk).update(decided_at=local(2025, 2, 3))  # no action

    tasks.refresh_issue_months(since="2025-01-01")

    assert kept_department(escalation.department, dt.date(2025, 2, 1)).assigned == 1
    assert kept_department(escalation.department, this_month()).assigned == 0


def test_a_months_durations_are_each_issues_whole_seconds_in_order(manan, manan_staff):
    start = local(2026, 3, 1, 8)
    spans = [dt.timedelta(days=9, seconds=7), dt.timedelta(hours=2), dt.timedelta(days=30),
             dt.timedelta(seconds=61, microseconds=400_000), dt.timedelta(hours=2)]  # fmt: skip
    for n, span in enumerate(spans):
        issue = factories.issue(manan, actor=manan_staff)
        created = start + dt.timedelta(hours=n)
        factories.moved(issue, status=Issue.Status.RESOLVED, created=created,
                        resolved_at=created + span)  # fmt: skip
    factories.issue(manan, actor=manan_staff)  # still open: no duration

    march = dt.date(2026, 3, 1)
    figures = rollup.month_figures([manan.pk], *rollup.month_bounds(march))
    expected = [61, 7200, 7200, 9 * 86400 + 7, 30 * 86400]
    assert list(figures[manan.pk].resolution_seconds) == expected
    assert list(kept(manan, march).resolution_seconds) == expected
