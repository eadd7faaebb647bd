"""Escalation: council → community → street office → a department, and back.

Each step is checked for what the people involved see: the queues they work
from, the notices they get, and the issue's timeline.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from issues import queries
from issues.actions import escalations, handling
from issues.events import IssueActionError
from issues.lifecycle import TransitionRefused
from issues.models import Escalation, Event, Issue, Photo
from members.models import Notice
from tests import factories
from tests.helpers.issues import accept, to_street

E = Event.Kind


def photo(name="done.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 160, 60)).save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def kinds(issue: Issue) -> list[str]:
    return list(queries.timeline(issue).values_list("kind", flat=True))


def notified(kind: str) -> set[str]:
    return set(Notice.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def refusal(error_type, call, **kwargs) -> str:
    with translation.override("en"):
        with pytest.raises(error_type) as caught:
            call(**kwargs)
        return str(caught.value)  # in English: a message may be lazily translated


def frozen(issue: Issue, escalation: Escalation) -> tuple:
    issue.refresh_from_db()
    escalation.refresh_from_db()
    return (
        issue.status,
        issue.tier,
        issue.version,
        issue.assigned_department_id,
        issue.due_on,
        issue.resolved_at,
        escalation.state,
        escalation.department_id,
        escalation.deadline,
        issue.events.count(),
        Notice.objects.count(),
    )


@pytest.fixture
def issue(manan, manan_staff):
    return factories.issue(manan, actor=manan_staff, title="小区门口占道经营")


def test_council_to_community_to_street(issue, manan_staff, nanen_admin, nanen):
    escalations.issue_escalate(
        issue=issue, actor=manan_staff, reason="议事会协调不了", expected_version=1
    )
    issue.refresh_from_db()
    assert issue.tier == Issue.Tier.COMMUNITY
    assert not Escalation.objects.exists()  # the community tier is still in-house

    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="需要街道协调城管")
    issue.refresh_from_db()
    assert issue.tier == Issue.Tier.STREET

    escalation = Escalation.objects.get()
    assert (escalation.street, escalation.state, escalation.reason, escalation.raised_by) == (
        nanen,
        Escalation.State.PENDING,
        "需要街道协调城管",
        manan_staff,
    )
    steps = list(
        issue.events.filter(kind=E.ESCALATED).values_list("from_value", "to_value", "note")
    )
    assert steps == [
        ("council", "community", "议事会协调不了"),
        ("community", "street", "需要街道协调城管"),
    ]
    assert issue.events.filter(kind=E.ESCALATED, is_public=True).count() == 2
    assert kinds(issue) == [E.CREATED, E.ESCALATED, E.ESCALATED]
    # The street admins are told once it reaches them.
    assert "nanen_admin" in notified("issue_escalated")


def test_escalating_needs_a_reason(issue, manan_staff):
    message = refusal(
        IssueActionError, escalations.issue_escalate, issue=issue, actor=manan_staff, reason="  "
    )
    assert message == "Please give a reason for escalating."
    issue.refresh_from_db()
    assert issue.tier == Issue.Tier.COUNCIL and kinds(issue) == [E.CREATED]


def test_street_queue_shows_it_to_its_own_admins_only(
    issue, manan_staff, nanen_admin, other_admin, nanen, chengbei
):
    assert list(queries.escalations_for_street(nanen_admin, nanen)) == []
    escalation = to_street(issue, manan_staff)

    assert list(queries.escalations_for_street(nanen_admin, nanen)) == [escalation]
    assert list(queries.escalations_for_street(nanen_admin, nanen, state="pending")) == [escalation]
    with pytest.raises(PermissionDenied):
        queries.escalations_for_street(other_admin, nanen)
    assert list(queries.escalations_for_street(other_admin, chengbei)) == []
    with pytest.raises(PermissionDenied):
        queries.escalations_for_street(manan_staff, nanen)
    assert "chengbei_admin" not in notified("issue_escalated")


def test_escalating_past_the_street_office_is_refused(issue, manan_staff, nanen_admin):
    escalation = to_street(issue, manan_staff)
    before = frozen(issue, escalation)

    message = refusal(
        IssueActionError,
        escalations.issue_escalate,
        issue=issue,
        actor=manan_staff,
        reason="再往上报",
    )

    assert message == "This issue is already with the street office."
    assert frozen(issue, escalation) == before
    assert Escalation.objects.count() == 1

    accept(escalation, nanen_admin)  # now with a department: still nowhere higher to go
    message = refusal(
        IssueActionError, escalations.issue_escalate, issue=issue, actor=manan_staff, reason="再报"
    )
    assert message == "This issue is already with the street office."


def test_a_closed_issue_cannot_be_escalated(issue, manan_staff):
    handling.issue_transition(issue=issue, actor=manan_staff, name="start")
    handling.issue_transition(issue=issue, actor=manan_staff, name="resolve")
    message = refusal(
        IssueActionError, escalations.issue_escalate, issue=issue, actor=manan_staff, reason="x"
    )
    assert message == "Only open issues can be escalated."
    issue.refresh_from_db()
    assert issue.tier == Issue.Tier.COUNCIL


def test_accept_with_a_department_of_another_street_is_refused(
    issue, manan_staff, nanen_admin, chengbei
):
    escalation = to_street(issue, manan_staff)
    before = frozen(issue, escalation)

    message = refusal(
        IssueActionError,
        escalations.escalation_accept,
        escalation=escalation,
        actor=nanen_admin,
        department=factories.department(chengbei, "城北城管"),
        deadline=timezone.localdate() + dt.timedelta(days=3),
    )

    assert message == "Choose a department of this street."
    assert frozen(issue, escalation) == before


def test_accept_with_a_deadline_in_the_past_is_refused(issue, manan_staff, nanen_admin):
    escalation = to_street(issue, manan_staff)
    before = frozen(issue, escalation)

    message = refusal(
        IssueActionError,
        escalations.escalation_accept,
        escalation=escalation,
        actor=nanen_admin,
        department=factories.department(escalation.street),
        deadline=timezone.localdate() - dt.timedelta(days=1),
    )

    assert message == "The deadline cannot be in the past."
    assert frozen(issue, escalation) == before


def test_accept_hands_it_to_the_department_which_then_sees_it(
    issue, manan_staff, nanen_admin, city_handler
):
    escalation = to_street(issue, manan_staff)
    assert list(queries.escalations_for_department(city_handler)) == []
    assert not queries.issues_visible_to(city_handler).filter(pk=issue.pk).exists()
    assert "city_handler" not in notified("issue_escalated")

    deadline = timezone.localdate() + dt.timedelta(days=5)
    accept(escalation, nanen_admin, days=5)

    issue.refresh_from_db()
    escalation.refresh_from_db()
    department = factories.department(escalation.street)
    assert (issue.tier, issue.assigned_department, issue.due_on, issue.status) == (
        Issue.Tier.DEPARTMENT,
        department,
        deadline,
        Issue.Status.IN_PROGRESS,
    )
    assert (escalation.state, escalation.department, escalation.deadline) == (
        Escalation.State.ACCEPTED,
        department,
        deadline,
    )
    assert escalation.decided_by == nanen_admin and escalation.decided_at is not None
    assert notified("escalation_assigned") == {"city_handler"}
    assert Notice.objects.get(kind="escalation_assigned").channel == Notice.Channel.INAPP
    assert list(queries.escalations_for_department(city_handler)) == [escalation]
    assert list(queries.issues_visible_to(city_handler)) == [issue]
    # No longer waiting for the street office.
    assert list(queries.escalations_for_street(nanen_admin, escalation.street)) == [escalation]
    assert (
        list(queries.escalations_for_street(nanen_admin, escalation.street, state="pending")) == []
    )

    status, accepted = issue.events.filter(kind__in=[E.STATUS, E.ACCEPTED]).order_by("id")
    assert (status.from_value, status.to_value, status.actor) == (
        "submitted",
        "in_progress",
        nanen_admin,
    )
    assert (accepted.to_value, accepted.note, accepted.is_public) == (
        deadline.isoformat(),
        department.name,
        True,
    )
    assert kinds(issue) == [E.CREATED, E.ESCALATED, E.ESCALATED, E.STATUS, E.ACCEPTED]


def test_return_sends_it_back_to_the_community_with_the_reason(
    issue, manan_staff, nanen_admin, city_handler
):
    escalation = to_street(issue, manan_staff)

    message = refusal(
        IssueActionError,
        escalations.escalation_return,
        escalation=escalation,
        actor=nanen_admin,
        reason=" ",
    )
    assert message == "Please say why the matter goes back to the community."

    escalations.escalation_return(
        escalation=escalation, actor=nanen_admin, reason="属于小区物业职责，请社区督促"
    )

    issue.refresh_from_db()
    escalation.refresh_from_db()
    assert issue.tier == Issue.Tier.COMMUNITY and issue.status == Issue.Status.SUBMITTED
    assert (escalation.state, escalation.return_reason, escalation.decided_by) == (
        Escalation.State.RETURNED,
        "属于小区物业职责，请社区督促",
        nanen_admin,
    )
    assert notified("escalation_returned") == {"manan_staff"}
    returned = issue.events.get(kind=E.RETURNED)
    assert (returned.from_value, returned.to_value, returned.note) == (
        "street",
        "community",
        "属于小区物业职责，请社区督促",
    )
    assert kinds(issue) == [E.CREATED, E.ESCALATED, E.ESCALATED, E.RETURNED]
    assert list(queries.escalations_for_street(nanen_admin, escalation.street)) == []
    assert not queries.issues_visible_to(city_handler).filter(pk=issue.pk).exists()

    # The community may send it up again; that is a new escalation.
    escalations.issue_escalate(issue=issue, actor=manan_staff, reason="物业不配合")
    assert Escalation.objects.filter(issue=issue).count() == 2
    assert Escalation.objects.get(issue=issue, state="pending").reason == "物业不配合"


def test_department_reply_then_street_confirms_and_the_issue_is_resolved(
    issue, manan_staff, nanen_admin, city_handler, media
):
    escalation = accept(to_street(issue, manan_staff), nanen_admin)

    message = refusal(
        IssueActionError,
        escalations.escalation_reply,
        escalation=escalation,
        actor=city_handler,
        reply="",
    )
    assert message == "Please describe what was done."

    escalations.escalation_reply(
        escalation=escalation,
        actor=city_handler,
        reply="已清理占道摊位并告知",
        uploads=[photo()],
    )

    escalation.refresh_from_db()
    assert (escalation.state, escalation.reply, escalation.handled_by) == (
        Escalation.State.HANDLED,
        "已清理占道摊位并告知",
        city_handler,
    )
    completion = Photo.objects.get(issue=issue)
    assert completion.kind == Photo.Kind.COMPLETION and completion.uploaded_by == city_handler
    assert notified("escalation_handled") == {"nanen_admin"}
    handled = issue.events.get(kind=E.HANDLED)
    assert handled.is_public and handled.note == "已清理占道摊位并告知"
    assert list(queries.escalations_for_department(city_handler)) == [escalation]

    escalations.escalation_confirm(escalation=escalation, actor=nanen_admin)

    issue.refresh_from_db()
    escalation.refresh_from_db()
    assert issue.status == Issue.Status.RESOLVED and issue.resolved_at is not None
    assert escalation.state == Escalation.State.CONFIRMED and escalation.confirmed_at
    assert list(queries.escalations_for_department(city_handler)) == []
    assert list(queries.escalations_for_street(nanen_admin, escalation.street)) == []
    assert Notice.objects.filter(kind="issue_resolved").exists()
    last = issue.events.order_by("-id").first()
    assert (last.kind, last.from_value, last.to_value) == (E.STATUS, "in_progress", "resolved")
    assert kinds(issue) == [
        E.CREATED,
        E.ESCALATED,
        E.ESCALATED,
        E.STATUS,
        E.ACCEPTED,
        E.PHOTO,
        E.HANDLED,
        E.CONFIRMED,
        E.STATUS,
    ]
    # The reporter's public timeline tells the whole story without internal lines.
    assert list(queries.timeline(issue, public_only=True).values_list("kind", flat=True)) == [
        E.CREATED,
        E.ESCALATED,
        E.ESCALATED,
        E.STATUS,
        E.ACCEPTED,
        E.HANDLED,
        E.CONFIRMED,
        E.STATUS,
    ]


def test_must_deliberate_issue_cannot_be_confirmed_before_deliberation(
    manan, manan_staff, nanen_admin, city_handler
):
    issue = factories.issue(manan, actor=manan_staff, code="facilities", title="健身器材损坏")
    escalation = accept(to_street(issue, manan_staff), nanen_admin)
    escalations.escalation_reply(escalation=escalation, actor=city_handler, reply="已更换器材")
    before = frozen(issue, escalation)

    with translation.override("en"), pytest.raises(TransitionRefused) as caught:
        escalations.escalation_confirm(escalation=escalation, actor=nanen_admin)

    assert "“Public facilities” is a must-deliberate category" in str(caught.value)
    assert frozen(issue, escalation) == before
    assert escalation.state == Escalation.State.HANDLED

    handling.issue_record_deliberation(issue=issue, actor=manan_staff, at=timezone.now())
    escalations.escalation_confirm(escalation=escalation, actor=nanen_admin)

    issue.refresh_from_db()
    escalation.refresh_from_db()
    assert issue.status == Issue.Status.RESOLVED
    assert escalation.state == Escalation.State.CONFIRMED


def dealt_with(call, **kwargs) -> None:
    assert (
        refusal(IssueActionError, call, **kwargs) == "This escalation has already been dealt with."
    )


def test_a_second_decision_on_the_same_escalation_is_refused(
    issue, manan_staff, nanen_admin, city_handler
):
    escalation = to_street(issue, manan_staff)
    accept(escalation, nanen_admin)
    before = frozen(issue, escalation)

    dealt_with(
        escalations.escalation_accept,
        escalation=escalation,
        actor=nanen_admin,
        department=factories.department(escalation.street, "住建局"),
        deadline=timezone.localdate() + dt.timedelta(days=9),
    )
    dealt_with(
        escalations.escalation_return, escalation=escalation, actor=nanen_admin, reason="退回"
    )
    dealt_with(escalations.escalation_confirm, escalation=escalation, actor=nanen_admin)
    assert frozen(issue, escalation) == before

    escalations.escalation_reply(escalation=escalation, actor=city_handler, reply="已处理")
    dealt_with(
        escalations.escalation_reply, escalation=escalation, actor=city_handler, reply="再次"
    )
    escalations.escalation_confirm(escalation=escalation, actor=nanen_admin)
    before = frozen(issue, escalation)

    dealt_with(escalations.escalation_confirm, escalation=escalation, actor=nanen_admin)
    dealt_with(
        escalations.escalation_return, escalation=escalation, actor=nanen_admin, reason="退回"
    )
    assert frozen(issue, escalation) == before
    assert issue.events.filter(kind=E.CONFIRMED).count() == 1


def test_a_returned_escalation_cannot_be_accepted(issue, manan_staff, nanen_admin):
    escalation = to_street(issue, manan_staff)
    escalations.escalation_return(escalation=escalation, actor=nanen_admin, reason="社区自行处理")
    before = frozen(issue, escalation)
    dealt_with(
        escalations.escalation_accept,
        escalation=escalation,
        actor=nanen_admin,
        department=factories.department(escalation.street),
        deadline=timezone.localdate(),
    )
    dealt_with(
        escalations.escalation_return, escalation=escalation, actor=nanen_admin, reason="再退"
    )
    assert frozen(issue, escalation) == before
