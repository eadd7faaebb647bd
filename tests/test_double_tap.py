"""A form that creates something, sent twice (a double tap, a resend on a slow line),
creates it once: the second post goes where the first went and notifies nobody."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading

import pytest
from django.db import connection
from django.urls import reverse

from issues.actions import intake
from issues.models import Issue
from members import submissions
from members.models import Notice, Resident, Submission
from tests import factories
from tests.conftest import client_for


def drawn_key(html: str) -> str:
    """The one-time key drawn with the form on this page."""
    return re.search(r'name="submission_key" value="([^"]+)"', html).group(1)


def member_report(manan, **fields) -> dict:
    return {
        "title": "3号楼电梯停了",
        "category": factories.category(manan.street, "facilities").pk,
        "description": "",
        "place": "",
        **fields,
    }


def new_reporter_intake(manan, **fields) -> dict:
    return {
        "channel": "home_visit", "reporter_mode": "new", "new_name": "赵大爷",
        "new_building": "6栋", "contact_phone": "139 0000 1111", "title": "楼道杂物",
        "category": factories.category(manan.street, "environment").pk, **fields,
    }  # fmt: skip


@pytest.mark.django_db
def test_each_report_form_is_drawn_with_its_own_key(as_user, manan, manan_member, manan_staff):
    url = reverse("issues:report", args=[manan.pk])
    for user in (manan_member, manan_staff):
        client = as_user(user)
        first, second = (drawn_key(client.get(url).text) for _ in range(2))
        assert len(first) >= 20 and first != second


@pytest.mark.django_db
def test_a_double_tap_on_the_members_report_makes_one_issue(
    as_user, manan, manan_member, manan_staff
):
    client = as_user(manan_member)
    url = reverse("issues:report", args=[manan.pk])
    form = member_report(manan, submission_key=drawn_key(client.get(url).text))

    first = client.post(url, form)
    notices = Notice.objects.count()
    second = client.post(url, form)

    issue = Issue.objects.get()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == reverse("issues:detail", args=[issue.pk]) + "?reported=1"
    assert notices > 0 and Notice.objects.count() == notices  # the staff told once
    assert issue.events.count() == 1


@pytest.mark.django_db
def test_a_double_tap_on_staff_intake_makes_one_issue_and_one_resident(as_user, manan, manan_staff):
    client = as_user(manan_staff)
    url = reverse("issues:report", args=[manan.pk])
    form = new_reporter_intake(manan, submission_key=drawn_key(client.get(url).text))

    first = client.post(url, form)
    notices = Notice.objects.count()
    second = client.post(url, form)

    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert Issue.objects.count() == 1
    assert Resident.objects.filter(name="赵大爷").count() == 1
    assert Notice.objects.count() == notices


@pytest.mark.django_db
def test_a_form_sent_back_keeps_its_key_so_the_retry_still_counts_once(as_user, manan, manan_staff):
    client = as_user(manan_staff)
    url = reverse("issues:report", args=[manan.pk])
    key = drawn_key(client.get(url).text)

    refused = client.post(url, new_reporter_intake(manan, title="", submission_key=key))
    assert refused.status_code == 422 and drawn_key(refused.text) == key
    assert "赵大爷" in refused.text  # what was typed is kept

    fixed = new_reporter_intake(manan, submission_key=key)
    assert client.post(url, fixed).status_code == 302
    assert client.post(url, fixed).status_code == 302
    assert Issue.objects.count() == 1


@pytest.mark.django_db
def test_two_forms_drawn_apart_make_two_issues(as_user, manan, manan_member):
    client = as_user(manan_member)
    url = reverse("issues:report", args=[manan.pk])
    for _ in range(2):
        client.post(url, member_report(manan, submission_key=drawn_key(client.get(url).text)))
    assert Issue.objects.count() == 2


@pytest.mark.django_db
def test_another_persons_key_does_not_lead_to_their_issue(
    as_user, manan, manan_member, manan_staff
):
    url = reverse("issues:report", args=[manan.pk])
    form = member_report(manan, submission_key="a-key-someone-else-drew-000")
    mine = as_user(manan_member).post(url, form)
    theirs = as_user(manan_staff).post(
        url, {**form, "channel": "hotline", "reporter_mode": "anonymous"}
    )
    assert mine.status_code == theirs.status_code == 302 and mine.url != theirs.url
    assert Issue.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_form_at_once_make_one_issue(
    manan, manan_member, manan_staff, monkeypatch
):
    """Both posts reach the create together, each on its own connection: the key's
    unique constraint holds the second until the first has committed."""
    url = reverse("issues:report", args=[manan.pk])
    form = member_report(manan, submission_key=drawn_key(client_for(manan_member).get(url).text))
    barrier = threading.Barrier(2, timeout=2)
    reporting = intake.issue_report

    def report_together(**kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # both creating at once, unless the key holds one back
        return reporting(**kwargs)

    monkeypatch.setattr(intake, "issue_report", report_together)
    responses, errors = [], []

    def post():
        try:
            responses.append(client_for(manan_member).post(url, form))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    issue = Issue.objects.get()
    detail = reverse("issues:detail", args=[issue.pk]) + "?reported=1"
    assert [(r.status_code, r.url) for r in responses] == [(302, detail), (302, detail)]
    assert issue.events.count() == 1
    assert barrier.broken  # the second post waited for the first one's key
    # One set of notices: the same number one report alone sends.
    notices = Notice.objects.count()
    client_for(manan_member).post(url, member_report(manan, submission_key="another-form-key"))
    assert Notice.objects.count() == 2 * notices


@pytest.mark.django_db
def test_keys_older_than_two_days_are_forgotten_by_the_nightly_sweep(manan_member):
    from issues import tasks

    old = Submission.objects.create(key="old", user=manan_member, result_url="/x/")
    Submission.objects.filter(pk=old.pk).update(created=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    recent = Submission.objects.create(key="recent", user=manan_member, result_url="/y/")

    tasks.erase_expired_contact_details()

    assert list(Submission.objects.all()) == [recent]
    assert dt.timedelta(days=2) == submissions.KEEP_FOR


@pytest.mark.django_db
def test_a_double_tap_on_the_public_form_makes_one_issue_even_if_the_cache_forgot(
    client, manan, manan_staff, clear_cache, monkeypatch
):
    from django.core.cache import cache

    from public import forms as public_forms
    from public import views as public_views

    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    url = reverse("public:report", args=[public_views.public_form_token(manan)])
    stamp = re.search(r'name="rendered" value="([^"]+)"', client.get(url).text)[1]
    form = {
        "title": "楼道堆放杂物", "category": factories.category(manan.street, "environment").pk,
        "description": "三栋楼道堆满纸箱。", "place": "3栋", "contact_name": "李阿姨",
        "contact_phone": "", "homepage": "", "rendered": stamp,
    }  # fmt: skip

    first = client.post(url, form)
    notices = Notice.objects.count()
    cache.clear()  # another web process, or a restarted cache: the nonce's claim is gone
    second = client.post(url, form)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Issue.objects.count() == 1 and Notice.objects.count() == notices


@pytest.mark.django_db
def test_a_double_tap_on_the_new_resident_form_adds_one_resident(as_user, manan, manan_staff):
    client = as_user(manan_staff)
    url = reverse("members:resident_create", args=[manan.pk])
    key = drawn_key(client.get(url).text)
    form = {"name": "钱阿婆", "phone": "", "lane": "", "building": "7栋", "room": "", "note": ""}

    refused = client.post(url, {**form, "name": "", "submission_key": key})
    assert refused.status_code == 422 and drawn_key(refused.text) == key
    first = client.post(url, {**form, "submission_key": key})
    second = client.post(url, {**form, "submission_key": key})

    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert Resident.objects.filter(name="钱阿婆").count() == 1


@pytest.mark.django_db
def test_the_second_post_of_a_report_runs_few_queries(
    as_user, manan, manan_member, manan_staff, django_assert_num_queries
):
    client = as_user(manan_member)
    url = reverse("issues:report", args=[manan.pk])
    form = member_report(manan, submission_key="one-drawn-form-key-0001")
    client.post(url, form)
    # The session, user, roles, community, council term, the category (choices and
    # check), then the key refused by its constraint in a savepoint (savepoint, insert,
    # rollback, release) and the first one's address read: nothing written.
    with django_assert_num_queries(12):
        assert client.post(url, form).status_code == 302


@pytest.mark.django_db
def test_a_double_tap_on_the_new_schedule_form_adds_one_schedule(as_user, manan, manan_staff):
    from deliberation.models import Schedule

    client = as_user(manan_staff)
    url = reverse("schedules:create", args=[manan.pk])
    form = {
        "kind": "monthly", "month_days": "8,18,28", "weekday": "", "start_time": "15:00",
        "place": "社区居民议事点", "notice_days": "3", "move_weekend_to_monday": "on",
        "submission_key": drawn_key(client.get(url).text),
    }  # fmt: skip

    before = Schedule.objects.count()
    first = client.post(url, form)
    second = client.post(url, form)

    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert Schedule.objects.count() == before + 1
