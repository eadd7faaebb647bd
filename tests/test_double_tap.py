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
        "place": "社区居民议事点", "notice_days": "3", "on_day_off": "next",
        "submission_key": drawn_key(client.get(url).text),
    }  # fmt: skip

    before = Schedule.objects.count()
    first = client.post(url, form)
    second = client.post(url, form)

    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert Schedule.objects.count() == before + 1


def post_at_once(user, url: str, form: dict, monkeypatch, module, name: str):
    """Two posts of ``form`` by ``user``, each on its own connection, both reaching the
    action ``module.name`` together unless the key holds one back: their responses, and
    whether the second was held (the barrier broke)."""
    barrier = threading.Barrier(2, timeout=2)
    acting = getattr(module, name)

    def act_together(**kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return acting(**kwargs)

    monkeypatch.setattr(module, name, act_together)
    responses, errors = [], []

    def post():
        try:
            responses.append(client_for(user).post(url, form))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    monkeypatch.setattr(module, name, acting)
    assert errors == []
    return responses, barrier.broken


def council_join(resident, **fields) -> dict:
    return {
        "resident": resident.pk, "joined_on": "2026-03-18", "role": "member",
        "category": "old_teacher", "covers_lane": "", "covers_building": "", **fields,
    }  # fmt: skip


@pytest.mark.django_db
def test_a_double_tap_on_add_a_council_member_adds_one_and_tells_the_leaders_once(
    as_user, manan, manan_staff, manan_member
):
    from members.models import CouncilMember

    client = as_user(manan_staff)
    url = reverse("members:council_member_join", args=[manan.pk])
    resident = factories.resident(manan, "郭美玲")
    key = drawn_key(client.get(url).text)

    refused = client.post(url, council_join(resident, joined_on="", submission_key=key))
    assert refused.status_code == 422 and drawn_key(refused.text) == key
    first = client.post(url, council_join(resident, submission_key=key))
    notices = Notice.objects.filter(kind="member_joined").count()
    second = client.post(url, council_join(resident, submission_key=key))

    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert CouncilMember.objects.filter(resident=resident).count() == 1
    assert notices == 1 and Notice.objects.filter(kind="member_joined").count() == 1
    # Not "already serves on this council": the second post simply goes where the first went.
    assert "already serves" not in client.get(second.url).text


@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_council_member_form_at_once_add_one_member(
    manan, manan_staff, manan_member, monkeypatch
):
    from members import actions
    from members.models import CouncilMember

    url = reverse("members:council_member_join", args=[manan.pk])
    resident = factories.resident(manan, "郭美玲")
    form = council_join(resident, submission_key=drawn_key(client_for(manan_staff).get(url).text))

    responses, held = post_at_once(
        manan_staff, url, form, monkeypatch, actions, "council_member_join"
    )

    council = reverse("members:council", args=[manan.pk])
    assert [(r.status_code, r.url) for r in responses] == [(302, council), (302, council)]
    assert held and CouncilMember.objects.filter(resident=resident).count() == 1
    assert Notice.objects.filter(kind="member_joined", recipient=manan_member).count() == 1


@pytest.mark.django_db
def test_a_double_tap_on_add_comment_adds_one_comment(as_user, manan, manan_staff):
    from issues.models import Event

    issue = factories.issue(manan, actor=manan_staff, title="电梯异响")
    client = as_user(manan_staff)
    detail = reverse("issues:detail", args=[issue.pk])
    url = reverse("issues:comment", args=[issue.pk])
    key = drawn_key(client.get(detail).text)

    refused = client.post(url, {"text": " ", "submission_key": key})
    assert refused.status_code == 422 and drawn_key(refused.text) == key
    notices = Notice.objects.count()
    first = client.post(url, {"text": "已联系物业", "submission_key": key})
    second = client.post(url, {"text": "已联系物业", "submission_key": key})

    assert first.status_code == second.status_code == 302 and first.url == second.url == detail
    assert issue.events.filter(kind=Event.Kind.COMMENT).count() == 1
    assert Notice.objects.count() == notices
    # The page the comment leads back to draws a fresh key for the next comment.
    assert drawn_key(client.get(detail).text) != key


@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_comment_at_once_add_one_comment(manan, manan_staff, monkeypatch):
    from issues.models import Event

    issue = factories.issue(manan, actor=manan_staff, title="电梯异响")
    detail = reverse("issues:detail", args=[issue.pk])
    key = drawn_key(client_for(manan_staff).get(detail).text)
    url = reverse("issues:comment", args=[issue.pk])
    notices = Notice.objects.count()

    responses, held = post_at_once(
        manan_staff, url, {"text": "已联系物业", "submission_key": key}, monkeypatch,
        intake, "issue_comment",
    )  # fmt: skip

    assert [(r.status_code, r.url) for r in responses] == [(302, detail), (302, detail)]
    assert held and issue.events.filter(kind=Event.Kind.COMMENT).count() == 1
    assert Notice.objects.count() == notices
