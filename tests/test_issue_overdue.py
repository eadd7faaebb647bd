"""The daily reminder about overdue issues: once per person per issue per day.

The unit tests run the task eagerly; the last test sends it through the real
broker to a real worker process twice, as a duplicated beat tick would.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from issues.actions import escalations, handling
from issues.models import Event, Issue
from issues.tasks import notify_overdue_issues
from members import notifications
from members.models import Notice
from tests import factories

S = Issue.Status


def overdue_notices() -> list[tuple[str, int]]:
    return sorted(
        Notice.objects.filter(kind="issue_overdue").values_list(
            "recipient__username", "context__issue_id"
        )
    )


def overdue_events(issue: Issue) -> list[str]:
    return list(issue.events.filter(kind=Event.Kind.OVERDUE).values_list("to_value", flat=True))


def due(issue: Issue, days: int, *, status: str | None = None) -> Issue:
    """Test setup: move the due date (and status) to where the test needs them."""
    changes = {"due_on": timezone.localdate() + dt.timedelta(days=days)}
    if status:
        changes["status"] = status
    Issue.objects.filter(pk=issue.pk).update(**changes)
    issue.refresh_from_db()
    return issue


def run() -> int:
    return notify_overdue_issues.delay().get()


@pytest.fixture
def issues(manan, manan_staff, manan_member, manan_leader_term, nanen_admin, city_handler):
    """Overdue and not-overdue issues with different people responsible."""

    def new(title, **assign):
        issue = factories.issue(manan, actor=manan_staff, title=title)
        if assign:
            handling.issue_assign(issue=issue, actor=manan_staff, **assign)
        return issue

    today = timezone.localdate()
    made = {
        # Assigned to a council member and a staff member: both are reminded.
        "assigned": new("垃圾站异味", members=[manan_leader_term], staff=manan_staff, due_on=today),
        # Nobody assigned: the community staff are reminded.
        "unassigned": new("路灯不亮"),
        "resolved": new("井盖松动"),
        "closed": new("树枝挡路"),
        "not_actionable": new("邻居装修"),
        "due_today": new("楼道堆物"),
        "due_later": new("绿化修剪"),
        "no_due_date": new("宠物扰民"),
    }
    due(made["assigned"], -1)
    due(made["unassigned"], -3, status=S.IN_PROGRESS)
    due(made["resolved"], -2, status=S.RESOLVED)
    due(made["closed"], -2, status=S.CLOSED)
    due(made["not_actionable"], -2, status=S.NOT_ACTIONABLE)
    due(made["due_today"], 0)
    due(made["due_later"], 2)

    # With a department since the street office accepted it: its handler is reminded.
    street_issue = new("占道经营")
    escalations.issue_escalate(issue=street_issue, actor=manan_staff, reason="需要社区")
    escalations.issue_escalate(issue=street_issue, actor=manan_staff, reason="需要街道")
    escalations.escalation_accept(
        escalation=street_issue.escalations.get(),
        actor=nanen_admin,
        department=factories.department(manan.street),
        deadline=today,
    )
    made["department"] = due(street_issue, -1)
    return made


def test_one_reminder_per_responsible_person_per_overdue_issue(
    issues, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert run() == 4

    # The council member assigned is reminded of their task (it links to 我的任务).
    assert list(
        Notice.objects.filter(kind="task_overdue").values_list(
            "recipient__username", "context__issue_id"
        )
    ) == [("manan_member", issues["assigned"].pk)]
    assert overdue_notices() == sorted(
        [
            ("manan_staff", issues["assigned"].pk),
            ("manan_staff", issues["unassigned"].pk),
            ("city_handler", issues["department"].pk),
        ]
    )
    # Delivered: the in-app notices are in each person's inbox.
    assert set(
        Notice.objects.filter(kind__in=["issue_overdue", "task_overdue"]).values_list(
            "status", flat=True
        )
    ) == {"sent"}
    today = timezone.localdate().isoformat()
    for name, issue in issues.items():
        expected = [today] if name in {"assigned", "unassigned", "department"} else []
        assert overdue_events(issue) == expected, name

    notice = Notice.objects.filter(kind="issue_overdue", recipient__username="city_handler").get()
    with translation.override("en"):
        subject, body = notifications.render(notice)
    assert subject == "An issue is overdue"
    assert body == "马南社区: “占道经营” is past its due date."


def test_running_again_the_same_day_sends_nothing_new(issues):
    assert run() == 4
    notices, events = Notice.objects.count(), Event.objects.filter(kind=Event.Kind.OVERDUE).count()

    assert run() == 0
    assert run() == 0

    assert Notice.objects.count() == notices
    assert Event.objects.filter(kind=Event.Kind.OVERDUE).count() == events == 3


def test_the_next_day_it_reminds_again(issues, monkeypatch):
    today = timezone.localdate()
    assert run() == 4

    tomorrow = today + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    # Tomorrow "due_today" is overdue as well, for the community staff.
    assert run() == 5
    assert run() == 0

    assert overdue_events(issues["assigned"]) == [today.isoformat(), tomorrow.isoformat()]
    assert overdue_events(issues["due_today"]) == [tomorrow.isoformat()]
    assert overdue_events(issues["due_later"]) == []
    assert (
        Notice.objects.filter(kind="task_overdue", recipient__username="manan_member").count() == 2
    )


def test_resolving_stops_the_reminders(issues, manan_staff, monkeypatch):
    assert run() == 4
    issue = issues["unassigned"]
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")

    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    run()

    assert overdue_events(issue) == [(tomorrow - dt.timedelta(days=1)).isoformat()]


def test_inactive_accounts_are_not_reminded(issues, manan_member):
    manan_member.is_active = False
    manan_member.save()
    assert run() == 3
    assert "manan_member" not in {name for name, _ in overdue_notices()}


def test_the_beat_schedule_runs_it_every_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["notify-overdue-issues"]
    assert entry["task"] == notify_overdue_issues.name == "issues.tasks.notify_overdue_issues"
    schedule = entry["schedule"]
    assert schedule.hour == {8} and schedule.minute == {0}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("room_in_the_day")  # "once a day" is the worker's day
def test_a_real_worker_reminds_each_person_once_even_when_the_task_runs_twice(
    manan,
    manan_staff,
    manan_member,
    manan_leader_term,
    celery_processes,
):
    worker = celery_processes.worker()
    manan_staff.email, manan_staff.notify_by_email = "staff@example.org", True
    manan_staff.save()
    with transaction.atomic():
        issue = factories.issue(manan, actor=manan_staff, title="电梯困人隐患")
        handling.issue_assign(
            issue=issue,
            actor=manan_staff,
            members=[manan_leader_term],
            staff=manan_staff,
            due_on=timezone.localdate(),
        )
    due(issue, -2)

    # Two beat ticks for the same day, e.g. beat restarted, or a message redelivered.
    notify_overdue_issues.delay()
    notify_overdue_issues.delay()

    def finished() -> bool:
        log = worker.text()
        return len(re.findall(r"notify_overdue_issues\[[^\]]+\] succeeded", log)) == 2

    celery_processes.wait_for(finished, seconds=90, what="both runs")
    celery_processes.wait_for(
        lambda: (
            set(
                Notice.objects.filter(kind__in=["issue_overdue", "task_overdue"]).values_list(
                    "status", flat=True
                )
            )
            == {"sent"}
        ),
        seconds=60,
        what="the reminders",
    )
    time.sleep(1)  # any stray second delivery would show up now

    log = worker.text()
    results = re.findall(r"notify_overdue_issues\[[^\]]+\] succeeded in [\d.]+s: (\d+)", log)
    assert results == ["3", "0"]  # in-app for both, email for the staff member; then nothing
    notices = Notice.objects.filter(kind__in=["issue_overdue", "task_overdue"])
    assert sorted(notices.values_list("recipient__username", "channel", "kind")) == [
        ("manan_member", "inapp", "task_overdue"),
        ("manan_staff", "email", "issue_overdue"),
        ("manan_staff", "inapp", "issue_overdue"),
    ]
    assert set(notices.values_list("attempts", flat=True)) == {1}
    assert overdue_events(issue) == [timezone.localdate().isoformat()]
    with translation.override(settings.LANGUAGE_CODE):
        _, body = notifications.render(notices.get(channel="email"))
    mails = [p.read_text() for p in celery_processes.mail.glob("*.log")]
    assert len([m for m in mails if body in m and "staff@example.org" in m]) == 1
