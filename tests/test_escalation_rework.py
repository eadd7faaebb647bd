"""The street office sends a department's report back as not done, and its queue keeps
the admin's place after every action."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from issues.actions import escalations
from issues.events import IssueActionError
from issues.models import Escalation, Event, Issue
from members.models import Notice
from tests import factories
from tests.helpers.issues import accept, to_street

REASON = "摊位还在，门口依旧堵着"
PINNED_DECIDE, PINNED_REPLY = 6, 5


def handled(community, admin, staff, handler, title="小区门口占道经营") -> Escalation:
    issue = factories.issue(community, actor=staff, title=title)
    escalation = accept(to_street(issue, staff), admin)
    return escalations.escalation_reply(escalation=escalation, actor=handler, reply="已清理")


def test_sending_back_reopens_the_departments_work_with_the_reason(
    manan, manan_staff, nanen_admin, city_handler
):
    escalation = handled(manan, nanen_admin, manan_staff, city_handler)

    escalations.escalation_rework(escalation=escalation, actor=nanen_admin, reason=REASON)

    escalation.refresh_from_db()
    assert escalation.state == Escalation.State.ACCEPTED
    assert escalation.rework_reason == REASON
    assert escalation.handled_at is None
    issue = Issue.objects.get(pk=escalation.issue_id)
    assert issue.status == Issue.Status.IN_PROGRESS and issue.resolved_at is None
    assert not issue.reviews.exists()
    event = issue.events.get(kind=Event.Kind.REWORK)
    assert (event.actor, event.note) == (nanen_admin, REASON)
    notices = Notice.objects.filter(kind="escalation_reworked")
    assert {n.recipient.username for n in notices} == {"city_handler"}
    assert REASON in notices.first().context["reason"]
    # The department can report it handled again, and the street confirm it then.
    escalations.escalation_reply(escalation=escalation, actor=city_handler, reply="摊位已清走")
    escalations.escalation_confirm(escalation=escalation, actor=nanen_admin)
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.RESOLVED


def test_sending_back_needs_a_reason_and_a_handled_report(
    manan, manan_staff, nanen_admin, city_handler
):
    escalation = handled(manan, nanen_admin, manan_staff, city_handler)
    with translation.override("en"), pytest.raises(IssueActionError) as caught:
        escalations.escalation_rework(escalation=escalation, actor=nanen_admin, reason="  ")
    assert str(caught.value) == "Please say what is still not done."

    pending = to_street(factories.issue(manan, actor=manan_staff), manan_staff)
    with pytest.raises(IssueActionError):
        escalations.escalation_rework(escalation=pending, actor=nanen_admin, reason=REASON)
    assert Escalation.objects.get(pk=escalation.pk).state == Escalation.State.HANDLED
    assert not Event.objects.filter(kind=Event.Kind.REWORK).exists()


def test_the_admin_sends_it_back_from_the_page_and_the_department_sees_why(
    as_user, manan, manan_staff, nanen_admin, city_handler
):
    escalation = handled(manan, nanen_admin, manan_staff, city_handler)
    admin = as_user(nanen_admin)
    url = reverse("issues:escalation", args=[escalation.pk])
    assert "退回重办" in admin.get(url).text  # "Send back as not done"

    empty = admin.post(url, {"decision": "rework", "reason": ""})
    assert empty.status_code == 422
    assert "请说明还有哪些没有办好。" in empty.text
    assert Escalation.objects.get(pk=escalation.pk).state == Escalation.State.HANDLED

    admin.post(url, {"decision": "rework", "reason": REASON})

    assert Escalation.objects.get(pk=escalation.pk).state == Escalation.State.ACCEPTED
    department = as_user(city_handler)
    assert REASON in department.get(reverse("issues:work")).text
    reply_page = department.get(reverse("issues:reply", args=[escalation.pk])).text
    assert REASON in reply_page and 'name="reply"' in reply_page
    timeline = as_user(manan_staff).get(reverse("issues:detail", args=[escalation.issue_id])).text
    assert REASON in timeline


@pytest.mark.outsider("issues:escalation")
def test_another_streets_admin_cannot_send_it_back(
    as_user, manan, manan_staff, nanen_admin, city_handler, other_admin
):
    escalation = handled(manan, nanen_admin, manan_staff, city_handler)
    url = reverse("issues:escalation", args=[escalation.pk])
    response = as_user(other_admin).post(url, {"decision": "rework", "reason": REASON})
    assert response.status_code == 404
    assert Escalation.objects.get(pk=escalation.pk).state == Escalation.State.HANDLED


def test_after_an_action_the_queue_keeps_the_filter_and_scrolls_to_the_row(
    as_user, manan, manan_staff, nanen, nanen_admin, city_handler
):
    rows = [handled(manan, nanen_admin, manan_staff, city_handler, f"事项{i}") for i in range(3)]
    admin = as_user(nanen_admin)
    queue = admin.get(reverse("issues:street_queue", args=[nanen.pk]), {"state": "handled"})
    link = reverse("issues:escalation", args=[rows[1].pk]) + "?back=state%3Dhandled"
    assert link in queue.text
    assert f'id="escalation-{rows[2].pk}"' in queue.text

    page = admin.get(link)
    assert 'name="back" value="state=handled"' in page.text

    done = admin.post(
        reverse("issues:escalation", args=[rows[1].pk]),
        {"decision": "rework", "reason": REASON, "back": "state=handled"},
    )

    # The row left the "handled" view of the queue: back to the same view, at the next row.
    assert done.status_code == 302
    assert done["Location"] == (
        reverse("issues:street_queue", args=[nanen.pk]) + f"?state=handled#escalation-{rows[2].pk}"
    )

    confirmed = admin.post(
        reverse("issues:escalation", args=[rows[0].pk]), {"decision": "confirm", "back": ""}
    )
    # On the open queue a confirmed row leaves; the next still-open row is rows[1].
    assert confirmed["Location"] == (
        reverse("issues:street_queue", args=[nanen.pk]) + f"#escalation-{rows[1].pk}"
    )


def test_the_place_kept_is_only_the_queues_own(as_user, manan, manan_staff, nanen, nanen_admin):
    pending = to_street(factories.issue(manan, actor=manan_staff), manan_staff)
    done = as_user(nanen_admin).post(
        reverse("issues:escalation", args=[pending.pk]),
        {
            "decision": "accept",
            "department": factories.department(nanen).pk,
            "deadline": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
            "back": "state=pending&next=https://evil.example&x=%0d%0aSet-Cookie:a",
        },
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("issues:street_queue", args=[nanen.pk]) + "?state=pending"


def test_queue_query_count_does_not_grow(
    as_user, manan, manan_staff, nanen, nanen_admin, city_handler, django_assert_num_queries
):
    admin = as_user(nanen_admin)
    url = reverse("issues:street_queue", args=[nanen.pk])
    handled(manan, nanen_admin, manan_staff, city_handler)
    admin.get(url)
    # session, user with its unread count, roles; street; escalations with issues; departments
    with django_assert_num_queries(5) as few:
        admin.get(url)
    for i in range(5):
        handled(manan, nanen_admin, manan_staff, city_handler, f"事项{i}")
    with django_assert_num_queries(len(few.captured_queries)):
        admin.get(url)


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_escalation_and_reply_pages_query_counts(
    as_user, manan, manan_staff, nanen_admin, city_handler
):
    escalation = handled(manan, nanen_admin, manan_staff, city_handler)
    escalations.escalation_rework(escalation=escalation, actor=nanen_admin, reason=REASON)
    admin, department = as_user(nanen_admin), as_user(city_handler)
    decide = reverse("issues:escalation", args=[escalation.pk]) + "?back=state%3Daccepted"
    reply = reverse("issues:reply", args=[escalation.pk])
    few = (queries_of(admin, decide), queries_of(department, reply))
    for i in range(5):
        handled(manan, nanen_admin, manan_staff, city_handler, f"事项{i}")
        factories.issue(manan, actor=manan_staff)
    escalation.issue.events.create(kind=Event.Kind.COMMENT, actor=manan_staff, note="再看看")
    many = (queries_of(admin, decide), queries_of(department, reply))
    # session, user with its unread count, roles; the escalation with its issue; its photos; and for
    # the street office the issue's timeline
    assert few == many == (PINNED_DECIDE, PINNED_REPLY)


def test_sending_back_may_set_a_new_deadline_but_not_a_past_one(
    as_user, manan, manan_staff, nanen_admin, city_handler
):
    escalation = handled(manan, nanen_admin, manan_staff, city_handler)
    url = reverse("issues:escalation", args=[escalation.pk])
    admin = as_user(nanen_admin)
    yesterday = timezone.localdate() - dt.timedelta(days=1)

    refused = admin.post(url, {"decision": "rework", "reason": REASON, "deadline": yesterday})

    assert refused.status_code == 422
    assert "办理期限不能早于今天。" in refused.text  # "The deadline cannot be in the past."
    assert REASON in refused.text  # what was typed is kept
    assert Escalation.objects.get(pk=escalation.pk).state == Escalation.State.HANDLED

    later = timezone.localdate() + dt.timedelta(days=10)
    admin.post(url, {"decision": "rework", "reason": REASON, "deadline": later.isoformat()})

    escalation.refresh_from_db()
    assert (escalation.state, escalation.deadline) == (Escalation.State.ACCEPTED, later)
    assert Issue.objects.get(pk=escalation.issue_id).due_on == later
