"""Meetings' background work with real processes: two beats at once, workers dying mid-send.

Workers and beats are real ``celery`` processes (``tests.processes``) on the test
database: PostgreSQL and Redis when ``DATABASE_URL`` and ``REDIS_URL`` are set, the
embedded default (SQLite and kombu's filesystem transport) otherwise. Text messages
and email go to the stand-ins in ``tests.deliveries``, which count every delivery.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
import signal
from collections import Counter

import pytest
from django.conf import settings
from django.utils import timezone, translation

from deliberation import queries, schedules
from deliberation.actions import materialise
from deliberation.actions import notices as notices_actions
from deliberation.models import AgendaItem, Meeting
from deliberation.tasks import materialise_meetings
from issues.actions import handling
from members import notifications
from members.models import Notice, Role
from members.tasks import deliver_notice
from tests import deliveries, factories
from tests.processes import RECEIVED, finished, redis_unacked_task_ids

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The issue asks for two beat processes side by side "for a minute".
MINUTE = 60
# Each beat sends the materialising task this often (seconds) instead of every quarter hour.
MATERIALISE_EVERY = 5
# A notice claimed longer ago than this (seconds) by a worker that died is taken over ...
CLAIM_TIMEOUT = 8
# ... by the sweeper, which beat runs this often (seconds) instead of every five minutes.
REQUEUE_EVERY = 2

SENDING_MATERIALISE = "Sending due task materialise-meetings"


def recovery_env(outbox) -> dict[str, str]:
    return {
        **deliveries.delivery_env(outbox),
        "NOTICE_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT),
        "NOTICES_REQUEUE_EVERY": str(REQUEUE_EVERY),
        "MEETINGS_MATERIALISE_EVERY": "3600",  # these tests announce the meeting themselves
    }


def member(community, username: str, **fields):
    """A current council member with an account."""
    term = factories.council_member(community, factories.resident(community, username))
    account = factories.user(username, **fields)
    factories.role(account, Role.Kind.COUNCIL_MEMBER, council_member=term)
    return account


def reachable_member(community, username: str, number: int, *, sms=True, email=True):
    return member(
        community,
        username,
        phone=f"138{number:08d}",
        email=f"{username}@example.org",
        notify_by_sms=sms,
        notify_by_email=email,
    )


def awaiting(community, *, actor, **fields):
    issue = factories.issue(community, actor=actor, **fields)
    return handling.issue_transition(issue=issue, actor=actor, name="accept")


def weekly_from(community, day: dt.date, **fields):
    """A weekly schedule whose first meeting is on ``day``, announced three days ahead."""
    return factories.schedule(
        community,
        kind="weekly",
        weekday=day.weekday(),
        notice_days=3,
        on_day_off="keep",
        **fields,
    )


def results_of(task_id: str, process) -> list[str]:
    return [result for _, finished_id, result in finished(process) if finished_id == task_id]


def received(process) -> Counter:
    """How many times the process was handed each task id."""
    return Counter(task_id for _, task_id in RECEIVED.findall(process.text()))


def expected_sms(notices) -> Counter:
    return Counter(n.key for n in notices if n.channel == Notice.Channel.SMS)


def expected_mail(notices) -> Counter:
    """(to, subject, text) of each email notice, rendered as the worker renders it."""
    with translation.override(settings.LANGUAGE_CODE):
        return Counter(
            (n.recipient.email, *notifications.email_text(n))
            for n in notices
            if n.channel == Notice.Channel.EMAIL
        )


def delivered_mail(outbox) -> Counter:
    return Counter(deliveries.mail_key(message) for message in deliveries.mails(outbox))


# --- Two beat processes for a minute -------------------------------------------------------


@pytest.mark.usefixtures("room_in_the_day")
def test_two_beats_for_a_minute_create_each_meeting_once_and_send_each_notice_once(
    manan, xingfu, manan_staff, xingfu_staff, manan_member, celery_processes, tmp_path
):
    today = timezone.localdate()  # the beats materialise from their own, the same
    # Each council's first meeting is in the next days: its notice is already due.
    schedule_of = {
        manan.council.pk: weekly_from(manan, today + dt.timedelta(days=1)),
        xingfu.council.pk: weekly_from(
            xingfu, today + dt.timedelta(days=2), start_time=dt.time(9, 30)
        ),
    }
    reachable_member(manan, "manan_both", 1)
    reachable_member(manan, "manan_sms", 2, email=False)
    reachable_member(manan, "manan_email", 3, sms=False)
    reachable_member(xingfu, "xingfu_both", 4)
    reachable_member(xingfu, "xingfu_sms", 5, email=False)
    lift = awaiting(manan, actor=manan_staff, title="加装电梯")
    laundry = awaiting(manan, actor=manan_staff, title="晾衣场地", is_urgent=True)
    parking = awaiting(xingfu, actor=xingfu_staff, title="消防通道停车")

    outbox = tmp_path / "outbox"
    env = {**deliveries.delivery_env(outbox), "MEETINGS_MATERIALISE_EVERY": str(MATERIALISE_EVERY)}
    workers = [celery_processes.worker(f"worker{n}", **env) for n in (1, 2)]
    beats = [celery_processes.beat(f"beat{n}", **env) for n in (1, 2)]
    celery_processes.wait_ready(*workers, *beats)
    celery_processes.watch(MINUTE)
    for beat in beats:
        beat.stop()

    # Both beats fired all along: had idempotency broken, this was its chance.
    fired = [beat.text().count(SENDING_MATERIALISE) for beat in beats]
    assert min(fired) >= MINUTE // MATERIALISE_EVERY - 3, fired

    def materialised():
        return [t for t in finished(*workers) if t[0].endswith("materialise_meetings")]

    celery_processes.wait_for(
        lambda: len(materialised()) == sum(fired), seconds=60, what="every materialising run"
    )
    celery_processes.wait_for(
        lambda: not Notice.objects.exclude(status=Notice.Status.SENT).exists(),
        seconds=60,
        what="every notice to be sent",
    )
    for worker in workers:
        assert "Traceback" not in worker.text(), worker.text()[-5000:]

    # Each meeting once: every occurrence from today to the horizon of the last run.
    horizon = timezone.localdate() + dt.timedelta(days=42)
    for council_id, schedule in schedule_of.items():
        assert list(
            Meeting.objects.filter(council_id=council_id)
            .order_by("starts_at")
            .values_list("starts_at", flat=True)
        ) == schedules.occurrences(schedule, today, horizon)

    # Each issue on one agenda, once: the council's first meeting, urgent first.
    assert AgendaItem.objects.count() == 3
    first = {
        council_id: Meeting.objects.filter(council_id=council_id).order_by("starts_at").first()
        for council_id in schedule_of
    }
    assert list(first[manan.council.pk].agenda_items.values_list("issue_id", flat=True)) == [
        laundry.pk,
        lift.pk,
    ]
    assert list(first[xingfu.council.pk].agenda_items.values_list("issue_id", flat=True)) == [
        parking.pk
    ]

    # One notice per person, channel and announcement of each meeting, and none missing.
    assert all(meeting.notice_sent_at for meeting in first.values())
    expected = Counter()
    for meeting in Meeting.objects.all():
        announced = [
            kind
            for kind, field in notices_actions.ANNOUNCEMENTS.items()
            if getattr(meeting, field) is not None
        ]
        for user in queries.council_member_accounts(meeting.council_id):
            for channel in notifications.default_channels(user):
                if notifications.reachable(user, channel):
                    for kind in announced:
                        expected[(user.username, kind, meeting.pk, channel)] += 1
    notices = list(Notice.objects.select_related("recipient"))
    assert (
        Counter((n.recipient.username, n.kind, n.context["meeting_id"], n.channel) for n in notices)
        == expected
    )
    assert len(notices) >= 13  # for the first meetings: 8 to manan's members, 5 to xingfu's
    # The runs that wrote them say so too: no run created a notice another one had.
    assert sum(ast.literal_eval(result)["notices"] for *_, result in materialised()) == len(notices)

    # Each notice reached its person once, on each channel, in one attempt.
    assert {(n.status, n.attempts) for n in notices} == {("sent", 1)}
    assert deliveries.sms_delivered(outbox) == expected_sms(notices)
    assert deliveries.sms_requests(outbox) == expected_sms(notices)
    assert delivered_mail(outbox) == expected_mail(notices)


# --- A worker killed while sending notices ---------------------------------------------------


@pytest.mark.parametrize(
    ("slow", "victim"),
    [
        # Killed before the provider had the text: nobody got it, it must go once.
        ("sms:before", "worker"),
        # Killed after the provider took it, before the worker recorded it: the retry
        # carries the same message id, which the provider delivers once.
        ("sms:after", "worker"),
        # Killed after the mail server took it: the retry sends the same Message-ID,
        # which the reader's mail client shows once.
        ("email:after", "worker"),
        # Only the pool process dies (the kernel's OOM killer picks the biggest): the
        # worker lives on and puts the message back on the queue (reject_on_worker_lost).
        ("email:before", "pool process"),
    ],
)
def test_a_worker_killed_while_sending_notices_loses_none_and_doubles_none(
    slow, victim, manan, celery_processes, tmp_path
):
    outbox = tmp_path / "outbox"
    env = recovery_env(outbox)
    today = timezone.localdate()
    weekly_from(manan, today + dt.timedelta(days=1))
    for number in range(4):
        reachable_member(manan, f"member{number}", number)

    # Prefork, as in production: the pool process sends while the worker holds the
    # message, so an early acknowledgement would reach the broker before the kill.
    doomed = celery_processes.worker("doomed", pool="prefork", TEST_SLOW=slow, **env)
    celery_processes.wait_ready(doomed)
    materialise.meetings_materialise(today=today)
    assert notices_actions.meeting_notices_send(now=timezone.now()) == 12  # in-app, SMS, email each

    celery_processes.wait_for(
        lambda: deliveries.slow_delivery(outbox), seconds=30, what="a slow delivery to start"
    )
    marker = deliveries.slow_delivery(outbox)
    channel = marker["channel"]
    killed = Notice.objects.get(
        channel=channel,
        **({"key": marker["what"]} if channel == "sms" else {"recipient__email": marker["what"]}),
    )
    if victim == "worker":
        doomed.kill()
    else:
        assert marker["pid"] != doomed.popen.pid
        os.kill(marker["pid"], signal.SIGKILL)
    # The dead process's claim holds the notice: nobody else may send it yet.
    assert (killed.status, killed.attempts) == ("sending", 1)

    if victim == "worker":
        # Late acknowledgement with a prefetch of one: the worker held this message only.
        unfinished = received(doomed) - Counter(task_id for _, task_id, _ in finished(doomed))
        assert len(unfinished) == 1, unfinished
        [killed_task] = unfinished
        if settings.REDIS_URL:
            # Redis keeps the message and hands it out again after its visibility
            # timeout (an hour). kombu's filesystem transport deletes a message as it
            # hands it out, so there it died with the worker.
            assert killed_task in redis_unacked_task_ids()
        survivor = celery_processes.worker("survivor", **env)
    else:
        # The worker saw its pool process die and put the message back on the queue
        # (after Celery's worker_lost_wait, 10 s). Back at the worker, it finds the
        # notice claimed and lets it be, or (arriving after the claim went stale)
        # takes it over: either way it is sent once.
        def requeued():
            return [task_id for task_id, count in received(doomed).items() if count == 2]

        celery_processes.wait_for(requeued, seconds=40, what="the message to come back")
        [killed_task] = requeued()
        survivor = doomed

    # The database is the record of work, not the broker: the sweeper that beat runs finds
    # the notice whose claim went stale and enqueues it again, and a worker claims it.
    sweeper = celery_processes.beat("sweeper", **env)
    celery_processes.wait_for(
        lambda: not Notice.objects.exclude(status=Notice.Status.SENT).exists(),
        seconds=60,
        what="every notice to be sent",
    )
    sweeper.stop()

    notices = list(Notice.objects.select_related("recipient"))
    assert len(notices) == 12
    # Lost none, and only the interrupted notice took a second attempt.
    assert {n.pk: n.attempts for n in notices} == {n.pk: 1 + (n.pk == killed.pk) for n in notices}
    assert deliveries.sms_delivered(outbox) == expected_sms(notices)
    assert deliveries.mailbox(outbox) == expected_mail(notices)
    # What reached the provider and the mail server: the one interrupted after they
    # had taken it went twice (the worker cannot know); the rest went once.
    sent_again = Counter([killed.key] if slow == "sms:after" else [])
    assert deliveries.sms_requests(outbox) == expected_sms(notices) + sent_again
    mailed_again = expected_mail([killed]) if slow == "email:after" else Counter()
    assert delivered_mail(outbox) == expected_mail(notices) + mailed_again

    # The killed task's message once more, as Redis hands it out after its visibility
    # timeout: it finds the notice sent and reaches nobody.
    before = results_of(killed_task, survivor)
    deliver_notice.apply_async((killed.pk,), task_id=killed_task)
    celery_processes.wait_for(
        lambda: len(results_of(killed_task, survivor)) > len(before),
        seconds=30,
        what="the redelivered task",
    )
    assert results_of(killed_task, survivor) == [*before, "False"]
    assert deliveries.sms_requests(outbox) == expected_sms(notices) + sent_again
    assert delivered_mail(outbox) == expected_mail(notices) + mailed_again


def test_a_send_that_hangs_gives_up_before_another_worker_may_take_it_over(
    manan, celery_processes, tmp_path
):
    """A provider that never answers: the send stops before its claim goes stale."""
    outbox = tmp_path / "outbox"
    env = recovery_env(outbox)
    weekly_from(manan, timezone.localdate() + dt.timedelta(days=1))
    for number in range(2):
        reachable_member(manan, f"member{number}", number, email=False)

    # The first text message hangs for three claim timeouts, as a stalled connection would.
    hung = celery_processes.worker(
        "hung",
        pool="prefork",
        TEST_SLOW="sms:before",
        TEST_SLOW_SECONDS=str(3 * CLAIM_TIMEOUT),
        **env,
    )
    celery_processes.wait_ready(hung)
    # The worker announces the meeting, as beat would have it do, so the deliveries are
    # sent with its own time limits (a task's message carries the sender's).
    materialise_meetings.delay()
    celery_processes.wait_for(
        lambda: deliveries.slow_delivery(outbox), seconds=30, what="the send to hang"
    )
    stuck = Notice.objects.get(key=deliveries.slow_delivery(outbox)["what"])
    unfinished = received(hung) - Counter(task_id for _, task_id, _ in finished(hung))
    assert len(unfinished) == 1, unfinished
    [stuck_task] = unfinished
    # Another worker, and the sweeper that hands it stale claims, stand by.
    celery_processes.worker("other", **env)
    sweeper = celery_processes.beat("sweeper", **env)

    ended = re.compile(rf"\[{stuck_task}\] (succeeded|retry|raised)")
    celery_processes.wait_for(
        lambda: ended.search(hung.text()), seconds=3 * CLAIM_TIMEOUT + 15, what="the hung send"
    )
    celery_processes.wait_for(
        lambda: not Notice.objects.exclude(status=Notice.Status.SENT).exists(),
        seconds=60,
        what="every notice to be sent",
    )
    sweeper.stop()

    # One request to the provider for each message: the hung attempt did not finish
    # late, after another worker had sent the notice; it gave up and was retried.
    notices = list(Notice.objects.all())
    assert len(notices) == 4  # in-app and SMS to each
    assert deliveries.sms_requests(outbox) == expected_sms(notices)
    assert deliveries.sms_delivered(outbox) == expected_sms(notices)
    assert ended.search(hung.text()).group(1) == "retry", hung.text()[-3000:]
    assert {n.pk: n.attempts for n in notices} == {n.pk: 1 + (n.pk == stuck.pk) for n in notices}
