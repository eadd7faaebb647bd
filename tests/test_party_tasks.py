"""A decision gives work to the outside parties at its meeting (联建联动), and their replies
show on the matter's timeline: a cadre answers from their account, staff record a unit's."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from deliberation.actions import guests, parties
from deliberation.actions.base import ActionError
from deliberation.models import AgendaItem, Decision, PartyTask
from issues.actions import handling
from issues.models import Event
from members.models import Notice, OutsideUnit
from tests import factories
from tests.helpers.clock import local

STARTS = local(2026, 11, 28, 15)


@pytest.fixture
def meeting(manan):
    return factories.meeting(manan, STARTS)


@pytest.fixture
def unit(manan) -> OutsideUnit:
    return OutsideUnit.objects.create(
        community=manan, name="区供电所", contact_name="周师傅", phone="13900001111"
    )


@pytest.fixture
def cadre():
    return factories.user("manan_cadre", display_name="下沉干部 孙", phone="13700002222")


@pytest.fixture
def decided(meeting, manan, manan_staff) -> Decision:
    issue = factories.issue(manan, actor=manan_staff, title="路灯不亮")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    item = AgendaItem.objects.create(meeting=meeting, issue=issue, position=0)
    return Decision.objects.create(
        item=item,
        outcome=Decision.Outcome.REFER_TO_COMMUNITY,
        decided_by=manan_staff,
        decided_at=timezone.now(),
    )


@pytest.fixture
def parties_invited(meeting, manan_staff, unit, cadre):
    return (
        guests.guest_invite(meeting=meeting, actor=manan_staff, unit=unit),
        guests.guest_invite(meeting=meeting, actor=manan_staff, cadre=cadre),
    )


def timeline(decision) -> list[tuple[str, str, str]]:
    issue = decision.item.issue
    kinds = [Event.Kind.PARTY_ASSIGNED, Event.Kind.PARTY_REPLIED]
    return list(issue.events.filter(kind__in=kinds).values_list("kind", "to_value", "note"))


def test_work_given_to_a_cadre_and_their_reply_show_on_the_matters_timeline(
    meeting, decided, parties_invited, cadre, manan_staff, as_user
):
    _unit_guest, cadre_guest = parties_invited
    staff = as_user(manan_staff)
    url = reverse("meetings:party_assign", args=[meeting.pk, decided.item_id])
    response = staff.post(url, {"guest": cadre_guest.pk, "work": "协调供电所本周内修复路灯"})
    assert response.status_code == 302
    task = PartyTask.objects.get()
    assert Notice.objects.filter(recipient=cadre, kind="party_task").count() == 1

    # The cadre sees the work on the meeting page and replies from their phone.
    mine = as_user(cadre)
    page = mine.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert "协调供电所本周内修复路灯" in page and f"/parties/{task.pk}/reply/" in page
    reply_url = reverse("meetings:party_reply", args=[meeting.pk, task.pk])
    assert mine.post(reply_url, {"reply": "已联系供电所，周五更换灯具"}).status_code == 302
    assert mine.post(reply_url, {"reply": "再答一次"}).status_code == 302  # refused, kept once

    assert timeline(decided) == [
        ("party_assigned", "下沉干部 孙", "协调供电所本周内修复路灯"),
        ("party_replied", "下沉干部 孙", "已联系供电所，周五更换灯具"),
    ]
    assert Notice.objects.filter(recipient=manan_staff, kind="party_replied").count() == 1
    issue_page = staff.get(reverse("issues:detail", args=[decided.item.issue_id])).content.decode()
    assert "已联系供电所，周五更换灯具" in issue_page


def test_staff_record_a_units_reply_and_the_unit_is_texted_once(
    meeting, decided, parties_invited, manan_staff, as_user
):
    unit_guest, _cadre_guest = parties_invited
    task = parties.party_assign(
        decision=decided, guest=unit_guest, work="检修东门路灯线路", actor=manan_staff
    )
    with pytest.raises(ActionError):
        parties.party_assign(decision=decided, guest=unit_guest, work="again", actor=manan_staff)
    assert Notice.objects.filter(kind="party_task_unit", phone="13900001111").count() == 1
    response = as_user(manan_staff).post(
        reverse("meetings:party_reply", args=[meeting.pk, task.pk]), {"reply": "线路已检修"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.reply, task.replied_by) == ("线路已检修", manan_staff)


def test_another_cadre_cannot_reply_and_an_empty_reply_is_refused(
    meeting, decided, parties_invited, cadre, manan_staff, as_user
):
    _unit_guest, cadre_guest = parties_invited
    task = parties.party_assign(decision=decided, guest=cadre_guest, work="协调", actor=manan_staff)
    other = factories.user("other_cadre", display_name="另一位干部")
    guests.guest_invite(meeting=meeting, actor=manan_staff, cadre=other)
    url = reverse("meetings:party_reply", args=[meeting.pk, task.pk])
    assert as_user(other).post(url, {"reply": "冒充"}).status_code == 403
    with pytest.raises(ActionError):
        parties.party_reply(task=task, actor=cadre, reply="  ")
    task.refresh_from_db()
    assert task.reply == "" and task.replied_at is None


def test_a_party_of_another_meeting_cannot_be_given_the_work(manan, decided, manan_staff, unit):
    elsewhere = factories.meeting(manan, local(2026, 12, 8, 15))
    guest = guests.guest_invite(meeting=elsewhere, actor=manan_staff, unit=unit)
    with pytest.raises(ActionError):
        parties.party_assign(decision=decided, guest=guest, work="x", actor=manan_staff)
    assert not PartyTask.objects.exists()


@pytest.mark.outsider("meetings:party_assign", "meetings:party_reply")
@pytest.mark.parametrize("outsider", ["xingfu_staff", "other_admin"])
def test_outsiders_get_404_and_nothing_is_written(
    request, outsider, meeting, decided, parties_invited, manan_staff, as_user
):
    unit_guest, _ = parties_invited
    task = parties.party_assign(decision=decided, guest=unit_guest, work="检修", actor=manan_staff)
    client = as_user(request.getfixturevalue(outsider))
    assign = reverse("meetings:party_assign", args=[meeting.pk, decided.item_id])
    reply = reverse("meetings:party_reply", args=[meeting.pk, task.pk])
    assert client.post(assign, {"guest": unit_guest.pk, "work": "闯入"}).status_code == 404
    assert client.post(reply, {"reply": "闯入"}).status_code == 404
    assert PartyTask.objects.count() == 1 and PartyTask.objects.get().reply == ""
