"""The issue page in at most eight statements, whatever the matter holds: the issue's own
statement says which other parts have anything to read; the assignment form's lists of
members and staff load when it is opened."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deliberation.actions import running
from deliberation.models import AgendaItem, Meeting
from issues.actions import handling, member_tasks
from issues.models import ReplyTemplate
from members.models import CouncilMember, Role
from tests import factories
from tests.helpers.meetings import quorum_present

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
# Session, user with its unread count, roles; the issue with what else there is to read;
# its assigned members, the street's reply templates, timeline and photos.
OPEN_TASK_FOR_STAFF = 8


def member(community, username: str, name: str):
    term = factories.council_member(community, factories.resident(community, name))
    account = factories.user(username, display_name=name)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return term, account


def open_task(community, actor, members):
    issue = factories.issue(community, actor=actor, title="楼道堆物清理", place="3栋")
    issue = handling.issue_transition(issue=issue, actor=actor, name="accept")
    issue = handling.issue_transition(issue=issue, actor=actor, name="decide")
    return handling.issue_assign(
        issue=issue, actor=actor, members=members,
        due_on=timezone.localdate() + dt.timedelta(days=7),
    )  # fmt: skip


def statements(client, url: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **EN)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_an_open_task_with_a_report_waiting_costs_staff_eight_statements_however_full(
    as_user, manan, nanen, manan_staff
):
    li = member(manan, "li_member", "李秀英")
    issue = open_task(manan, manan_staff, [li[0]])
    member_tasks.task_report_done(issue=issue, actor=li[1], note="杂物已全部清走")
    ReplyTemplate.objects.create(street=nanen, title="已受理", body="已受理。")
    client = as_user(manan_staff)
    url = reverse("issues:detail", args=[issue.pk])

    few, page = statements(client, url)
    assert "李秀英" in page and "waits for confirmation" in page and "已受理</option>" in page

    others = [member(manan, f"m{i}", f"成员{i}")[0] for i in range(4)]
    handling.issue_assign(issue=issue, actor=manan_staff, members=[li[0], *others])
    for i in range(5):
        ReplyTemplate.objects.create(street=nanen, title=f"模板{i}", body="好的。")
    many, page = statements(client, url)
    assert "成员3" in page and "模板4</option>" in page
    assert few == many == OPEN_TASK_FOR_STAFF


def test_a_matter_with_nothing_assigned_reads_no_members_and_no_review(as_user, manan, manan_staff):
    issue = factories.issue(manan, actor=manan_staff, title="路灯不亮")
    counted, _page = statements(as_user(manan_staff), reverse("issues:detail", args=[issue.pk]))
    assert counted == OPEN_TASK_FOR_STAFF - 1


def test_the_volunteer_part_still_shows_for_a_matter_residents_solve(as_user, manan, manan_staff):
    issue = factories.issue(manan, actor=manan_staff, title="小花园除草")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    starts = timezone.now() - dt.timedelta(hours=1)
    meeting = Meeting.objects.create(
        council=manan.council, starts_at=starts, notice_due_at=starts - dt.timedelta(days=3)
    )
    quorum_present(meeting, manan_staff)
    item = AgendaItem.objects.create(meeting=meeting, issue=issue, position=0)
    running.decision_record(item=item, actor=manan_staff, outcome="solve_by_council", notes="")

    page = as_user(manan_staff).get(reverse("issues:detail", args=[issue.pk]), **EN).text
    assert reverse("volunteers:matter_activity_create", args=[issue.pk]) in page


# --- The assignment form, opened when needed ------------------------------------------------


@pytest.fixture
def assignable(manan, manan_staff):
    term = factories.council_member(manan, factories.resident(manan, "周桂兰"))
    issue = factories.issue(manan, actor=manan_staff, title="楼道堆物")
    return handling.issue_transition(issue=issue, actor=manan_staff, name="accept"), term


def test_the_issue_page_offers_the_assignment_without_reading_its_lists(
    as_user, assignable, manan_staff
):
    issue, _term = assignable
    page = as_user(manan_staff).get(reverse("issues:detail", args=[issue.pk]), **EN).text
    assign = reverse("issues:assign", args=[issue.pk])
    assert f'href="{assign}"' in page and f'hx-get="{assign}"' in page
    assert 'name="members"' not in page and "周桂兰" not in page


def test_the_assignment_form_opens_in_the_card_or_as_its_own_page(as_user, assignable, manan_staff):
    issue, term = assignable
    client = as_user(manan_staff)
    url = reverse("issues:assign", args=[issue.pk])

    partial = client.get(url, HTTP_HX_REQUEST="true", **EN).text
    assert "<html" not in partial and 'name="members"' in partial
    assert "周桂兰" in partial and "马南 工作人员</option>" in partial
    assert f'name="version" value="{issue.version}"' in partial

    page = client.get(url, **EN)
    assert page.status_code == 200 and "<html" in page.text and "<h1>Assign</h1>" in page.text

    response = client.post(url, {"version": issue.version, "members": [term.pk]})
    assert response.status_code == 302
    assert list(issue.assigned_members.all()) == [term]
    assert CouncilMember.objects.get(pk=term.pk).resident.name == "周桂兰"


def test_a_refused_assignment_shows_the_form_again_with_what_was_chosen(
    as_user, assignable, manan_staff
):
    issue, term = assignable
    response = as_user(manan_staff).post(
        reverse("issues:assign", args=[issue.pk]),
        {"version": issue.version, "members": [term.pk], "due_on": "2000-01-01"},
        **EN,
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "The due date cannot be in the past." in page
    assert f'name="members" value="{term.pk}" id="id_members_0" checked' in page


def test_who_may_not_assign_cannot_open_the_form_and_a_closed_matter_has_none(
    as_user, assignable, manan_member, manan_staff
):
    issue, _term = assignable
    url = reverse("issues:assign", args=[issue.pk])
    assert as_user(manan_member).get(url).status_code == 403
    handling.issue_transition(issue=issue, actor=manan_staff, name="not_actionable", note="重复")
    response = as_user(manan_staff).get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("issues:detail", args=[issue.pk])


def test_the_page_names_the_reporter_who_entered_it_and_who_handles_it(
    as_user, manan, nanen, manan_staff
):
    resident = factories.resident(manan, "赵大爷", phone="13912345678")
    issue = factories.issue(manan, actor=manan_staff, title="路面塌陷", reporter=resident)
    department = factories.department(nanen)
    named = factories.user("zhang_staff", display_name="张敏")
    factories.role(named, Role.Kind.COMMUNITY_STAFF, community=manan)
    unnamed = factories.user("wang_staff")
    factories.role(unnamed, Role.Kind.COMMUNITY_STAFF, community=manan)
    type(issue).objects.filter(pk=issue.pk).update(
        entered_by=named, assigned_staff=unnamed, assigned_department=department
    )

    page = as_user(manan_staff).get(reverse("issues:detail", args=[issue.pk])).text
    profile = page[page.index('<dl class="profile">') : page.index("</dl>")]
    assert "<bdi>赵大爷</bdi> · 139****5678" in profile
    assert f"· {department.name}</dd>" in profile
    assert "<bdi>wang_staff</bdi>" in profile  # no display name: the username
    assert " · 张敏</dd>" in profile
    assert "13912345678" not in page
