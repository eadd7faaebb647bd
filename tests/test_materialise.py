"""Meetings from schedules: created once, agendas built once, notices sent once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

from deliberation import queries
from deliberation.actions import materialise, notices
from deliberation.models import AgendaItem, Meeting
from deliberation.tasks import materialise_meetings
from issues.actions import handling
from members import notifications
from members.models import CouncilMember, Notice, Role
from tests import factories

TODAY = dt.date(2027, 3, 1)
TZ = timezone.get_default_timezone()


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, tzinfo=TZ)


def starts(council) -> list[dt.datetime]:
    return list(Meeting.objects.filter(council=council).values_list("starts_at", flat=True))


def awaiting(community, *, actor, **fields):
    issue = factories.issue(community, actor=actor, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


def agenda(meeting: Meeting) -> list[str]:
    return [item.issue.title for item in meeting.agenda_items.select_related("issue")]


def member_account(community, username: str, **fields):
    term = factories.council_member(community, factories.resident(community, username))
    account = factories.user(username, **fields)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return account, term


def meeting_notices(kind: str = "meeting_notice") -> list[tuple[str, str]]:
    return sorted(Notice.objects.filter(kind=kind).values_list("recipient__username", "channel"))


# --- Materialising meetings ----------------------------------------------------------


@pytest.mark.django_db
def test_materialising_twice_creates_each_meeting_once(manan):
    schedule = factories.schedule(manan, on_day_off="keep", notice_days=3)

    assert materialise.meetings_materialise(today=TODAY) == 4
    assert materialise.meetings_materialise(today=TODAY) == 0
    assert materialise.meetings_materialise(today=TODAY + dt.timedelta(days=1)) == 0

    assert starts(manan.council) == [at(8, 15), at(18, 15), at(28, 15), at(8, 15, month=4)]
    meeting = Meeting.objects.filter(council=manan.council).first()
    assert meeting.schedule == schedule
    assert meeting.place == "社区居民议事点"
    assert meeting.notice_due_at == at(5, 15)
    assert (meeting.state, meeting.kind) == ("scheduled", "regular")
    # A later run reaches further ahead and adds only the new meetings.
    assert materialise.meetings_materialise(today=dt.date(2027, 3, 20)) == 2
    assert len(starts(manan.council)) == 6


@pytest.mark.django_db
def test_inactive_schedules_produce_nothing(manan, xingfu):
    factories.schedule(manan, is_active=False)
    factories.schedule(xingfu, kind="weekly", weekday=2, is_active=False)
    assert materialise.meetings_materialise(today=TODAY) == 0
    assert not Meeting.objects.exists()


@pytest.mark.django_db
def test_two_schedules_of_one_council_at_the_same_time_make_one_meeting(manan, xingfu):
    factories.schedule(manan, month_days=[8], on_day_off="keep")
    factories.schedule(manan, month_days=[8, 18], on_day_off="keep")
    factories.schedule(xingfu, kind="weekly", weekday=2)
    materialise.meetings_materialise(today=TODAY, horizon_days=20)
    assert starts(manan.council) == [at(8, 15), at(18, 15)]
    assert starts(xingfu.council) == [at(3, 15), at(10, 15), at(17, 15)]


@pytest.mark.django_db
def test_the_database_holds_one_meeting_per_council_and_start(manan):
    from django.db import IntegrityError, transaction

    council = manan.council
    Meeting.objects.create(council=council, starts_at=at(8, 15), notice_due_at=at(5, 15))
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(council=council, starts_at=at(8, 15), notice_due_at=at(5, 15))


def run_at_once(target, count: int = 2) -> list:
    """Run ``target`` in ``count`` threads released together, each on its own connection."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def work():
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_create_each_meeting_agenda_item_and_notice_once(
    manan, manan_staff, manan_member
):
    """Two beat processes: separate connections racing (IMMEDIATE transactions on SQLite)."""
    factories.schedule(manan, on_day_off="keep")
    first, second = (awaiting(manan, actor=manan_staff, title=t) for t in ("电梯", "晾衣"))

    def tick():
        materialise.meetings_materialise(today=TODAY)
        return notices.meeting_notices_send(now=at(5, 15))

    results = run_at_once(tick, count=4)

    assert starts(manan.council) == [at(8, 15), at(18, 15), at(28, 15), at(8, 15, month=4)]
    assert AgendaItem.objects.count() == 2
    assert sorted(AgendaItem.objects.values_list("issue_id", flat=True)) == sorted(
        [first.pk, second.pk]
    )
    assert meeting_notices() == [("manan_member", "inapp")]
    assert sorted(results) == [0, 0, 0, 1]


# --- Agendas ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_agenda_puts_urgent_then_must_deliberate_then_oldest_first(
    manan, xingfu, manan_staff, xingfu_staff
):
    factories.schedule(manan, on_day_off="keep")
    awaiting(manan, actor=manan_staff, title="老问题", code="other")
    awaiting(manan, actor=manan_staff, title="必议旧", code="environment")
    awaiting(manan, actor=manan_staff, title="紧急", code="other", is_urgent=True)
    awaiting(manan, actor=manan_staff, title="必议新", code="facilities")
    factories.issue(manan, actor=manan_staff, title="未受理")  # still submitted
    awaiting(xingfu, actor=xingfu_staff, title="别的社区")

    materialise.meetings_materialise(today=TODAY)

    first, *later = Meeting.objects.filter(council=manan.council)
    assert agenda(first) == ["紧急", "必议旧", "必议新", "老问题"]
    assert list(first.agenda_items.values_list("position", "kind")) == [
        (0, "issue"), (1, "issue"), (2, "issue"), (3, "issue"),
    ]  # fmt: skip
    assert all(agenda(meeting) == [] for meeting in later)


@pytest.mark.django_db
def test_an_issue_is_never_on_two_upcoming_agendas(manan, manan_staff, manan_member):
    factories.schedule(manan, on_day_off="keep")
    awaiting(manan, actor=manan_staff, title="第一件")
    materialise.meetings_materialise(today=TODAY)
    materialise.meetings_materialise(today=TODAY)
    first, second, *_ = Meeting.objects.filter(council=manan.council)

    # Until its notice goes out, the next meeting's agenda takes new issues at the end.
    awaiting(manan, actor=manan_staff, title="第二件", is_urgent=True)
    materialise.meetings_materialise(today=TODAY)
    assert agenda(first) == ["第一件", "第二件"]
    assert [i.position for i in first.agenda_items.all()] == [0, 1]

    # Announced: new issues join it as late items until it begins ...
    notices.meeting_notices_send(now=at(5, 15))
    awaiting(manan, actor=manan_staff, title="第三件")
    materialise.meetings_materialise(today=TODAY, now=at(5, 16))
    materialise.meetings_materialise(today=dt.date(2027, 3, 6), now=at(6, 9))
    assert agenda(first) == ["第一件", "第二件", "第三件"]
    assert [i.late for i in first.agenda_items.all()] == [False, False, True]
    # ... and once it has begun, they wait for the following meeting.
    awaiting(manan, actor=manan_staff, title="第四件")
    materialise.meetings_materialise(today=dt.date(2027, 3, 8), now=at(8, 15, 1))
    assert agenda(first) == ["第一件", "第二件", "第三件"]
    assert agenda(second) == ["第四件"]
    assert not second.agenda_items.get().late
    assert AgendaItem.objects.count() == 4


@pytest.mark.django_db
def test_an_issue_removed_by_hand_waits_for_the_following_meeting(manan, manan_staff):
    factories.schedule(manan, on_day_off="keep")
    awaiting(manan, actor=manan_staff, title="拿下")
    materialise.meetings_materialise(today=TODAY)
    first, second, *_ = Meeting.objects.filter(council=manan.council)
    item = first.agenda_items.get()
    item.removed_at, item.removed_by = timezone.now(), manan_staff
    item.save()

    # The top-up does not put it back on the meeting it was taken off ...
    materialise.meetings_materialise(today=TODAY)
    assert first.agenda_items.filter(removed_at__isnull=True).count() == 0
    assert agenda(second) == []
    # ... and once that meeting is announced, it joins the next one.
    notices.meeting_notices_send(now=at(5, 15))
    materialise.meetings_materialise(today=TODAY)
    assert agenda(second) == ["拿下"]


# --- Notices and reminders -------------------------------------------------------------


@pytest.fixture
def council_people(manan, xingfu, manan_member):
    """An emailed member, a member who left, a member with no account, another council's member."""
    emailed, _ = member_account(
        manan, "member_by_email", email="li@example.org", notify_by_email=True
    )
    _, term = member_account(manan, "member_left")
    CouncilMember.objects.filter(pk=term.pk).update(left_on=dt.date(2026, 1, 8))
    factories.council_member(manan)  # no account: nobody to notify
    member_account(xingfu, "xingfu_member")
    return emailed


@pytest.mark.django_db
def test_notices_go_once_to_each_current_member_when_the_lead_time_arrives(manan, council_people):
    factories.schedule(manan, on_day_off="keep", notice_days=3)
    materialise.meetings_materialise(today=TODAY)

    assert notices.meeting_notices_send(now=at(5, 14, 59)) == 0
    assert notices.meeting_notices_send(now=at(5, 15)) == 3
    expected = [
        ("manan_member", "inapp"),
        ("member_by_email", "email"),
        ("member_by_email", "inapp"),
    ]
    assert meeting_notices() == expected
    assert notices.meeting_notices_send(now=at(5, 15, 15)) == 0
    assert notices.meeting_notices_send(now=at(6, 9)) == 0
    assert meeting_notices() == expected

    meeting = Meeting.objects.get(starts_at=at(8, 15))
    assert meeting.notice_sent_at == at(5, 15)
    assert Meeting.objects.filter(notice_sent_at__isnull=False).count() == 1

    # A claim lost after the notices were written: the keys keep anyone from hearing twice.
    Meeting.objects.filter(pk=meeting.pk).update(notice_sent_at=None)
    assert notices.meeting_notices_send(now=at(5, 16)) == 0
    assert meeting_notices() == expected

    notice = Notice.objects.get(kind="meeting_notice", recipient__username="manan_member")
    with translation.override("zh-hans"):
        subject, body = notifications.render(notice)
    assert subject == "议事会会议通知"
    assert body == "马南社区居民议事会将于2027-03-08 15:00在社区居民议事点开会。"
    with translation.override("en"):
        assert notifications.render(notice)[1] == (
            "马南社区居民议事会 meets on 2027-03-08 15:00 at 社区居民议事点."
        )


@pytest.mark.django_db
def test_the_morning_reminder_goes_once_on_the_day(manan, council_people):
    factories.schedule(manan, on_day_off="keep", notice_days=3)
    materialise.meetings_materialise(today=TODAY)
    notices.meeting_notices_send(now=at(5, 15))

    assert notices.meeting_notices_send(now=at(7, 20)) == 0  # the evening before
    assert notices.meeting_notices_send(now=at(8, 6, 59)) == 0
    assert meeting_notices("meeting_reminder") == []
    assert notices.meeting_notices_send(now=at(8, 7)) == 3
    assert notices.meeting_notices_send(now=at(8, 7, 15)) == 0
    assert notices.meeting_notices_send(now=at(8, 14)) == 0
    assert len(meeting_notices("meeting_reminder")) == 3
    assert len(meeting_notices("meeting_notice")) == 3
    assert Meeting.objects.get(starts_at=at(8, 15)).reminder_sent_at == at(8, 7)


@pytest.mark.django_db
def test_cancelled_and_past_meetings_are_not_announced(manan, manan_member):
    factories.schedule(manan, on_day_off="keep", notice_days=3)
    materialise.meetings_materialise(today=TODAY)
    Meeting.objects.filter(starts_at=at(8, 15)).update(state=Meeting.State.CANCELLED)
    assert notices.meeting_notices_send(now=at(8, 8)) == 0
    # The 18th's notice time passes unseen, and the meeting too: nothing late.
    assert notices.meeting_notices_send(now=at(18, 16)) == 0
    assert not Notice.objects.exists()


@pytest.mark.django_db
def test_a_meeting_created_inside_its_lead_time_is_announced_at_once(manan, manan_member):
    factories.schedule(manan, on_day_off="keep", notice_days=3)
    materialise.meetings_materialise(today=dt.date(2027, 3, 7))
    assert notices.meeting_notices_send(now=at(7, 10)) == 1
    assert meeting_notices() == [("manan_member", "inapp")]


@pytest.mark.django_db
def test_a_claimed_meeting_is_not_announced_again(manan, manan_member):
    """The conditional UPDATE is the claim: a second announcement of one meeting does nothing."""
    factories.schedule(manan, on_day_off="keep", notice_days=3)
    materialise.meetings_materialise(today=TODAY)
    meeting = Meeting.objects.get(starts_at=at(8, 15))
    announce = notices.meeting_announce
    assert announce(meeting_id=meeting.pk, now=at(5, 15), kind="meeting_notice") == 1
    Notice.objects.all().delete()  # even with the notices' keys gone
    assert announce(meeting_id=meeting.pk, now=at(5, 16), kind="meeting_notice") == 0
    assert not Notice.objects.exists()
    meeting.refresh_from_db()
    assert (meeting.notice_sent_at, meeting.reminder_sent_at) == (at(5, 15), None)
    assert announce(meeting_id=meeting.pk, now=at(8, 7), kind="meeting_reminder") == 1
    assert announce(meeting_id=meeting.pk, now=at(8, 8), kind="meeting_reminder") == 0


# --- The periodic task ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_task_is_idempotent_and_on_the_beat_schedule(manan, manan_member):
    factories.schedule(manan, kind="weekly", weekday=timezone.localdate().weekday())
    first = materialise_meetings.delay().get()
    second = materialise_meetings.delay().get()
    assert first["meetings"] >= 6
    assert second == {"meetings": 0, "notices": 0}
    entry = settings.CELERY_BEAT_SCHEDULE["materialise-meetings"]
    assert entry["task"] == materialise_meetings.name == "deliberation.tasks.materialise_meetings"
    assert materialise_meetings.acks_late


# --- Who sees meetings -------------------------------------------------------------------


@pytest.mark.django_db
def test_meetings_are_visible_only_within_the_users_communities(
    manan, xingfu, manan_staff, manan_member, xingfu_staff, nanen_admin, other_admin
):
    factories.schedule(manan, on_day_off="keep")
    materialise.meetings_materialise(today=TODAY)
    ours = set(Meeting.objects.filter(council=manan.council).values_list("pk", flat=True))
    assert len(ours) == 4

    for user in (manan_staff, manan_member, nanen_admin):
        assert set(queries.meetings_visible_to(user).values_list("pk", flat=True)) == ours
    for outsider in (xingfu_staff, other_admin):
        assert not queries.meetings_visible_to(outsider).exists()
        assert not queries.upcoming_meetings(outsider, manan.council, now=at(1, 0)).exists()

    upcoming = queries.upcoming_meetings(manan_member, manan.council, now=at(18, 15))
    assert [m.starts_at for m in upcoming] == [at(18, 15), at(28, 15), at(8, 15, month=4)]


# --- The set-based agenda top-up ---------------------------------------------------------


@pytest.mark.django_db
def test_the_top_up_numbers_on_from_the_last_item_still_on_the_agenda(manan, manan_staff):
    factories.schedule(manan, on_day_off="keep")
    awaiting(manan, actor=manan_staff, title="甲")
    awaiting(manan, actor=manan_staff, title="乙")
    materialise.meetings_materialise(today=TODAY)
    first = Meeting.objects.filter(council=manan.council).first()
    taken_off = first.agenda_items.get(position=1)
    taken_off.removed_at, taken_off.removed_by = timezone.now(), manan_staff
    taken_off.save()

    awaiting(manan, actor=manan_staff, title="丙")
    materialise.meetings_materialise(today=TODAY)
    live = first.agenda_items.filter(removed_at__isnull=True).select_related("issue")
    assert [(item.position, item.issue.title) for item in live] == [(0, "甲"), (1, "丙")]


@pytest.mark.django_db
def test_building_one_councils_agenda_leaves_the_others_alone(
    manan, xingfu, manan_staff, xingfu_staff
):
    factories.schedule(manan, on_day_off="keep")
    factories.schedule(xingfu, on_day_off="keep")
    materialise.meetings_materialise(today=TODAY)
    awaiting(manan, actor=manan_staff, title="马南一")
    awaiting(manan, actor=manan_staff, title="马南二", is_urgent=True)
    awaiting(xingfu, actor=xingfu_staff, title="幸福村")

    assert materialise.agenda_build(council_id=manan.council.pk, today=TODAY) == 2
    assert materialise.agenda_build(council_id=manan.council.pk, today=TODAY) == 0
    assert agenda(Meeting.objects.filter(council=manan.council).first()) == ["马南二", "马南一"]
    assert not AgendaItem.objects.filter(meeting__council=xingfu.council).exists()
    assert materialise.councils_with_agenda_work(None, today=TODAY) == [xingfu.council.pk]
    assert materialise.councils_with_agenda_work({manan.council.pk}, today=TODAY) == []


@pytest.mark.django_db(transaction=True)
def test_the_top_up_waits_for_a_hand_edit_of_the_same_agenda(manan, manan_staff):
    """Staff add a topic (meeting row locked) while the top-up runs: it numbers on after it."""
    from django.db import transaction

    factories.schedule(manan, on_day_off="keep")
    materialise.meetings_materialise(today=TODAY)
    first = Meeting.objects.filter(council=manan.council).first()
    awaiting(manan, actor=manan_staff, title="自动")
    editing, added, errors = threading.Event(), [], []

    def hand_edit():
        try:
            with transaction.atomic():
                Meeting.objects.select_for_update().get(pk=first.pk)
                AgendaItem.objects.create(meeting=first, topic="手加", kind="topic", position=0)
                editing.set()
                threading.Event().wait(0.5)  # the top-up starts meanwhile
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            editing.set()
            connection.close()

    def top_up():
        try:
            editing.wait(timeout=10)
            added.append(materialise.agenda_build(council_id=manan.council.pk, today=TODAY))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=hand_edit), threading.Thread(target=top_up)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert added == [1]
    items = first.agenda_items.select_related("issue").order_by("position", "id")
    assert [(i.position, i.topic or i.issue.title) for i in items] == [(0, "手加"), (1, "自动")]


@pytest.mark.django_db
def test_materialising_one_council_leaves_the_others_alone(manan, xingfu):
    factories.schedule(manan, on_day_off="keep")
    factories.schedule(xingfu, on_day_off="keep")

    assert materialise.meetings_materialise(today=TODAY, council_id=manan.council.pk) == 4
    assert len(starts(manan.council)) == 4
    assert starts(xingfu.council) == []
