"""Hints of similar open matters while reporting, and "me too": one more resident counted on
an open matter instead of a second report, each once, each told of progress."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from common.periods import Period
from issues import similar
from issues.actions import handling, replies, supporters
from issues.events import IssueActionError
from issues.models import Event, Issue, Supporter
from members.models import Notice
from public import forms as public_forms
from public.views import public_form_token
from reports import dashboard
from tests import factories


@pytest.fixture
def fountain(manan, manan_staff):
    return factories.issue(
        manan,
        actor=manan_staff,
        title="小公园想加一个饮水机",
        place="社区小公园",
        code="other",
    )


def hint_titles(community, title, place="", **kwargs) -> list[str]:
    return [
        hint.issue.title
        for hint in similar.similar_open(community.pk, title=title, place=place, **kwargs)
    ]


def test_an_open_matter_like_the_typed_one_is_hinted(manan, xingfu, manan_staff, fountain):
    factories.issue(manan, actor=manan_staff, title="三栋电梯经常停运", place="3栋")
    factories.issue(xingfu, title="公园饮水机坏了", place="幸福公园")
    assert hint_titles(manan, "公园饮水机", "小公园") == ["小公园想加一个饮水机"]
    assert hint_titles(xingfu, "小公园饮水机") == ["公园饮水机坏了"]
    assert hint_titles(manan, "垃圾清运") == []
    assert hint_titles(manan, "水") == []  # one character is not enough to compare


def test_closed_and_old_matters_are_not_hinted(manan, manan_staff, fountain):
    handling.issue_transition(issue=fountain, actor=manan_staff, name="not_actionable", note="x")
    assert hint_titles(manan, "小公园饮水机") == []
    old = factories.issue(manan, actor=manan_staff, title="小公园饮水机没水")
    Issue.objects.filter(pk=old.pk).update(
        created=timezone.now() - dt.timedelta(days=similar.RECENT_DAYS + 1)
    )
    assert hint_titles(manan, "小公园饮水机") == []


def test_the_same_category_ranks_first(manan, manan_staff, fountain):
    other = factories.issue(manan, actor=manan_staff, title="小公园饮水机", code="environment")
    same = factories.category(manan.street, "other")
    ranked = hint_titles(manan, "公园 饮水机", category_id=same.pk)
    assert ranked[0] == fountain.title and other.title in ranked


def test_the_staff_form_shows_hints_as_an_htmx_partial(manan, manan_staff, fountain, as_user):
    url = reverse("issues:report", args=[manan.pk])
    response = as_user(manan_staff).get(
        url, {"hint": "1", "title": "公园饮水机"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "小公园想加一个饮水机" in body and f'name="me_too" value="{fountain.pk}"' in body


def test_a_staff_member_counts_a_resident_once(manan, manan_staff, fountain, as_user):
    resident = factories.resident(manan, "赵桂兰", phone="13700001111", building="2栋")
    client = as_user(manan_staff)
    url = reverse("issues:report", args=[manan.pk])
    payload = {
        "me_too": fountain.pk,
        "reporter_mode": "existing",
        "reporter": resident.pk,
        "channel": "hotline",
        "title": "饮水机",
    }
    first = client.post(url, payload)
    assert first.status_code == 302 and first.url.startswith(
        reverse("issues:detail", args=[fountain.pk])
    )
    client.post(url, payload)
    fountain.refresh_from_db()
    assert fountain.supporter_count == 1
    assert Issue.objects.count() == 1
    (supporter,) = Supporter.objects.all()
    assert (supporter.resident, supporter.phone, supporter.channel) == (
        resident,
        "13700001111",
        "hotline",
    )
    event = fountain.events.get(kind=Event.Kind.ME_TOO)
    assert (event.is_public, event.note, event.to_value) == (True, "", "1")
    page = client.get(reverse("issues:detail", args=[fountain.pk])).content.decode()
    assert "赵桂兰" in page and "137****1111" in page


def test_a_me_too_needs_someone_to_count(manan, manan_staff, fountain, as_user):
    response = as_user(manan_staff).post(
        reverse("issues:report", args=[manan.pk]),
        {"me_too": fountain.pk, "reporter_mode": "anonymous", "title": "饮水机要加"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "饮水机要加" in page  # what was typed is kept
    assert not Supporter.objects.exists()


def test_a_council_member_counts_once_from_the_phone_form(manan, manan_member, fountain, as_user):
    client = as_user(manan_member)
    url = reverse("issues:report", args=[manan.pk])
    for _ in range(2):
        assert client.post(url, {"me_too": fountain.pk}).status_code == 302
    fountain.refresh_from_db()
    assert fountain.supporter_count == 1
    assert Supporter.objects.get().user == manan_member


def test_the_reporter_is_not_counted_twice(manan, manan_staff):
    resident = factories.resident(manan, "孙美玲", phone="13600002222")
    issue = factories.issue(manan, actor=manan_staff, reporter=resident, title="路灯坏了")
    supporter, counted = supporters.issue_me_too(
        issue=issue, actor=manan_staff, channel="hotline", resident=resident
    )
    assert (supporter, counted) == (None, False)
    issue.refresh_from_db()
    assert issue.supporter_count == 0


def test_a_closed_matter_takes_no_me_too(manan, manan_staff, fountain):
    handling.issue_transition(issue=fountain, actor=manan_staff, name="not_actionable", note="x")
    with pytest.raises(IssueActionError):
        supporters.issue_me_too(
            issue=fountain, actor=None, channel="public_form", phone="13500003333"
        )


@pytest.fixture
def public_form(settings, monkeypatch, tmp_path, manan):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)
    return reverse("public:report", args=[public_form_token(manan)])


def drawn(client, url) -> dict:
    page = client.get(url).content.decode()
    stamp = page.split('name="rendered" value="')[1].split('"')[0]
    return {"rendered": stamp, "homepage": ""}


def test_a_resident_on_the_public_form_is_counted_once_per_phone(
    client, public_form, fountain, clear_cache
):
    hints = client.get(public_form, {"hint": "1", "title": "饮水机"}, HTTP_HX_REQUEST="true")
    assert "小公园想加一个饮水机" in hints.content.decode()

    no_phone = client.post(public_form, {**drawn(client, public_form), "me_too": fountain.pk})
    assert no_phone.status_code == 422
    assert not Supporter.objects.exists()

    for _ in range(2):
        payload = {
            **drawn(client, public_form),
            "me_too": fountain.pk,
            "contact_name": "周阿姨",
            "contact_phone": "135 0000 3333",
        }
        response = client.post(public_form, payload)
        assert response.status_code == 302
        assert response.url == reverse("public:track_issue", args=[fountain.tracking_code])
    fountain.refresh_from_db()
    assert fountain.supporter_count == 1
    tracking = client.get(response.url).content.decode()
    assert "1 more resident has reported it" in tracking or "另有 1 位居民也反映了" in tracking
    assert "周阿姨" not in tracking and "3333" not in tracking


def test_a_public_me_too_on_another_communitys_matter_is_refused(
    client, public_form, xingfu, clear_cache
):
    elsewhere = factories.issue(xingfu, title="小公园饮水机")
    payload = {**drawn(client, public_form), "me_too": elsewhere.pk, "contact_phone": "13500003333"}
    assert client.post(public_form, payload).status_code == 422
    assert not Supporter.objects.exists()


def test_supporters_are_told_of_replies_and_the_outcome_once(
    manan, manan_staff, fountain, django_capture_on_commit_callbacks
):
    supporters.issue_me_too(issue=fountain, actor=None, channel="public_form", phone="13500003333")
    with django_capture_on_commit_callbacks(execute=True):
        replies.issue_reply(issue=fountain, actor=manan_staff, text="已报街道，等待安装。")
        handling.issue_transition(
            issue=fountain, actor=manan_staff, name="not_actionable", note="无预算"
        )
    texts = list(
        Notice.objects.filter(phone="13500003333").order_by("id").values_list("kind", flat=True)
    )
    assert texts == ["issue_reply", "supporter_progress"]


def test_the_dashboard_counts_me_toos(manan, manan_staff, fountain):
    supporters.issue_me_too(issue=fountain, actor=None, channel="public_form", phone="13500003333")
    supporters.issue_me_too(issue=fountain, actor=None, channel="public_form", phone="13500004444")
    today = timezone.localdate()
    period = Period(today.replace(day=1), today)
    links = dashboard.InboxLinks(period, community=manan.pk)
    figures = dashboard.dashboard([manan], period, links=links, today=today)
    assert figures.totals.also_reported == 2
    assert figures.totals.collected == 1


def test_supporters_phones_are_erased_with_the_matter(manan, manan_staff, fountain):
    from issues.actions import upkeep

    supporters.issue_me_too(
        issue=fountain, actor=None, channel="public_form", phone="13500003333", name="周"
    )
    handling.issue_transition(issue=fountain, actor=manan_staff, name="not_actionable", note="x")
    upkeep.contact_details_erase(now=timezone.now() + dt.timedelta(days=200))
    assert list(Supporter.objects.values_list("name", "phone")) == [("", "")]
