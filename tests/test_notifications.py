from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from common.sms import MemorySmsBackend
from members import notifications
from members.models import Notice
from members.tasks import requeue_stalled_notices


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    MemorySmsBackend.outbox.clear()
    yield
    MemorySmsBackend.outbox.clear()


def test_notify_delivers_on_every_channel_the_person_asked_for(
    manan_staff, django_capture_on_commit_callbacks
):
    manan_staff.phone, manan_staff.email = "13812345678", "staff@example.org"
    manan_staff.notify_by_sms = manan_staff.notify_by_email = True
    manan_staff.save()
    with django_capture_on_commit_callbacks(execute=True):
        created = notifications.notify(manan_staff, "test", {"text": "明天下午三点开会"}, key="k1")
    assert {n.channel for n in created} == {"inapp", "sms", "email"}
    assert set(Notice.objects.values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == 1 and "明天下午三点开会" in mail.outbox[0].body
    assert len(MemorySmsBackend.outbox) == 1
    assert MemorySmsBackend.outbox[0]["phone"] == "13812345678"
    assert MemorySmsBackend.outbox[0]["key"] == "k1:sms"


def test_same_key_delivers_once(manan_staff, django_capture_on_commit_callbacks):
    manan_staff.email, manan_staff.notify_by_email = "staff@example.org", True
    manan_staff.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = notifications.notify(manan_staff, "test", {"text": "一"}, key="meeting:7")
        second = notifications.notify(manan_staff, "test", {"text": "一"}, key="meeting:7")
    assert len(first) == 2 and second == []
    assert Notice.objects.count() == 2
    assert len(mail.outbox) == 1


def test_channels_without_address_are_skipped(manan_staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = notifications.notify(
            manan_staff, "test", {"text": "x"}, ["inapp", "sms", "email"]
        )
    assert [n.channel for n in created] == ["inapp"]


def test_nothing_is_sent_when_the_callers_transaction_rolls_back(manan_staff):
    from django.db import transaction

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        notifications.notify(manan_staff, "test", {"text": "x"}, key="rolled-back")
        raise Boom
    assert not Notice.objects.exists()


class FlakySms:
    failures_left = 0
    sent: list[str] = []

    def send(self, *, phone: str, text: str, key: str) -> None:
        if FlakySms.failures_left:
            FlakySms.failures_left -= 1
            raise ConnectionError("provider unreachable")
        FlakySms.sent.append(key)


def test_failed_delivery_is_retried_then_sent(
    manan_staff, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "tests.test_notifications.FlakySms"
    FlakySms.failures_left, FlakySms.sent = 2, []
    manan_staff.phone = "13812345678"
    manan_staff.save()
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(manan_staff, "test", {"text": "x"}, ["sms"], key="flaky")
    notice = Notice.objects.get()
    assert notice.status == "sent"
    assert notice.attempts == 3
    assert FlakySms.sent == ["flaky:sms"]


def test_delivery_gives_up_after_max_attempts(manan_staff, settings):
    settings.SMS_BACKEND = "tests.test_notifications.FlakySms"
    FlakySms.failures_left, FlakySms.sent = 100, []
    manan_staff.phone = "13812345678"
    manan_staff.save()
    notice = Notice.objects.create(
        recipient=manan_staff, kind="test", channel="sms", key="doomed", context={"text": "x"}
    )
    for _ in range(notifications.MAX_ATTEMPTS - 1):
        with pytest.raises(notifications.DeliveryError):
            notifications.deliver(notice.pk)
        notice.refresh_from_db()
        assert notice.status == "pending"
    assert notifications.deliver(notice.pk) is False
    notice.refresh_from_db()
    assert notice.status == "failed"
    assert "provider unreachable" in notice.last_error


def test_a_claimed_notice_is_not_sent_by_a_second_worker(manan_staff):
    notice = Notice.objects.create(recipient=manan_staff, kind="test", channel="inapp", key="c1")
    assert notifications.claim(notice.pk) is not None
    assert notifications.claim(notice.pk) is None
    assert notifications.deliver(notice.pk) is False


def test_a_claim_left_by_a_dead_worker_is_taken_over(manan_staff, settings):
    notice = Notice.objects.create(recipient=manan_staff, kind="test", channel="inapp", key="c2")
    notifications.claim(notice.pk)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.NOTICE_CLAIM_TIMEOUT_SECONDS + 5)
    Notice.objects.filter(pk=notice.pk).update(claimed_at=long_ago)
    assert notice.pk in notifications.stalled_notice_ids()
    assert notifications.deliver(notice.pk) is True
    notice.refresh_from_db()
    assert notice.status == "sent" and notice.attempts == 2


def test_sweeper_sends_notices_the_broker_never_got(manan_staff):
    notice = Notice.objects.create(recipient=manan_staff, kind="test", channel="inapp", key="lost")
    Notice.objects.filter(pk=notice.pk).update(created=timezone.now() - dt.timedelta(minutes=10))
    assert requeue_stalled_notices() == 1
    notice.refresh_from_db()
    assert notice.status == "sent"
    assert requeue_stalled_notices() == 0


def test_inbox_shows_unread_count_and_marks_read(
    manan_staff, as_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(manan_staff, "welcome", {"name": "马南 工作人员", "place": "马南社区"})
        notifications.notify(manan_staff, "test", {"text": "第二条"})
    client = as_user(manan_staff)
    page = client.get(reverse("members:notices"))
    assert page.context["unread_notices"] == 2
    html = page.content.decode()
    assert 'class="badge">2<' in html
    assert "马南社区" in html and "第二条" in html
    client.post(reverse("members:notices_read"))
    assert client.get(reverse("members:notices")).context["unread_notices"] == 0


def test_inbox_is_private(manan_staff, xingfu_staff, as_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(manan_staff, "test", {"text": "只给马南"})
    page = as_user(xingfu_staff).get(reverse("members:notices")).content.decode()
    assert "只给马南" not in page
    as_user(xingfu_staff).post(reverse("members:notices_read"))
    assert Notice.objects.get().read_at is None


def test_notice_text_follows_the_readers_language(
    manan_staff, as_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(manan_staff, "test", {"text": "x"})
    client = as_user(manan_staff)
    client.cookies["django_language"] = "en"
    assert "Test notice" in client.get(reverse("members:notices")).content.decode()


def test_unknown_kind_is_a_programming_error(manan_staff):
    with pytest.raises(ValueError):
        notifications.notify(manan_staff, "no-such-kind", {})


def test_logging_sms_backend_never_logs_the_full_number(caplog):
    from common.sms import LoggingSmsBackend

    with caplog.at_level("INFO"):
        LoggingSmsBackend().send(phone="13812345678", text="开会", key="k")
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text
