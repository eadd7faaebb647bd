"""The 长辈版 switch in every page's header: kept on the account, or on the device."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client, TestCase
from django.urls import reverse

from members.display import ELDER_COOKIE
from members.models import User

SWITCH = re.compile(r"<button[^>]*data-elder-switch[^>]*>([^<]*)</button>")


def switch_text(page: str) -> str:
    match = SWITCH.search(page)
    assert match, "no 长辈版 switch in the page"
    return match.group(1).strip()


def html_is_elder(page: str) -> bool:
    return bool(re.search(r'<html[^>]*class="elder"', page))


def toggle(client: Client, back: str, **extra):
    return client.post(reverse("members:elder_mode"), {"next": back}, **extra)


@pytest.mark.django_db
def test_a_member_turns_elder_mode_on_and_the_account_remembers_it(as_user, manan_member):
    client = as_user(manan_member)
    page = client.get(reverse("meetings:mine")).content.decode()
    assert switch_text(page) == "长辈版" and not html_is_elder(page)

    response = toggle(client, reverse("meetings:mine") + "?x=1")

    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:mine") + "?x=1"
    manan_member.refresh_from_db()
    assert manan_member.elder_mode is True
    # Another browser, the same account: still 长辈版.
    other = as_user(User.objects.get(pk=manan_member.pk))
    page = other.get(reverse("issues:mine")).content.decode()
    assert html_is_elder(page) and switch_text(page) == "标准版"

    toggle(other, reverse("issues:mine"))
    manan_member.refresh_from_db()
    assert manan_member.elder_mode is False
    assert not html_is_elder(other.get(reverse("issues:mine")).content.decode())


@pytest.mark.django_db
def test_the_switch_speaks_english_too(as_user, manan_staff):
    client = as_user(manan_staff)
    client.cookies["django_language"] = "en"
    assert switch_text(client.get(reverse("meetings:list")).content.decode()) == "Elder mode"
    toggle(client, reverse("meetings:list"))
    page = client.get(reverse("meetings:list")).content.decode()
    assert switch_text(page) == "Standard mode" and html_is_elder(page)


@pytest.mark.django_db
def test_a_visitor_without_an_account_keeps_elder_mode_on_the_device(client, db):
    login = reverse("login")
    page = client.get(login).content.decode()
    assert switch_text(page) == "长辈版" and not html_is_elder(page)

    response = toggle(client, login)

    assert response["Location"] == login
    assert response.cookies[ELDER_COOKIE].value == "1"
    assert response.cookies[ELDER_COOKIE]["max-age"] >= 30 * 24 * 3600
    page = client.get(login).content.decode()
    assert html_is_elder(page) and switch_text(page) == "标准版"
    assert not User.objects.filter(elder_mode=True).exists()

    toggle(client, login)
    assert not html_is_elder(client.get(login).content.decode())
    # A device that never chose: the standard mode.
    assert not html_is_elder(Client().get(login).content.decode())


@pytest.mark.django_db
def test_the_public_form_has_the_switch_and_remembers_it(client, manan):
    from public import views as public_views

    url = reverse("public:report", args=[public_views.public_form_token(manan)])
    assert switch_text(client.get(url).content.decode()) == "长辈版"
    toggle(client, url)
    assert html_is_elder(client.get(url).content.decode())


@pytest.mark.django_db
def test_the_switch_changes_nothing_on_a_get(as_user, manan_member):
    client = as_user(manan_member)
    response = client.get(reverse("members:elder_mode"), {"next": reverse("issues:mine")})
    assert response.status_code == 405
    manan_member.refresh_from_db()
    assert manan_member.elder_mode is False


@pytest.mark.django_db
def test_the_switch_never_sends_anyone_to_another_site(as_user, manan_member):
    response = toggle(as_user(manan_member), "https://evil.example/")
    assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_the_switch_answers_htmx_with_a_client_redirect(as_user, manan_member):
    response = toggle(as_user(manan_member), reverse("issues:mine"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("issues:mine")


# --- A council member's home of four tiles -----------------------------------------------


def tile_counts(page: str) -> dict[str, int]:
    """{tile class: the count it shows}, read from the page as a person sees it."""
    found = re.findall(
        r'class="tile (tile-\w+)".*?class="tile-count" data-count="(\d+)">'
        r"[^<]*<strong>(\d+)</strong>",
        page,
        re.S,
    )
    for _, data_count, shown in found:
        assert data_count == shown
    return {name: int(shown) for name, _, shown in found}


def a_members_month(manan, xingfu, manan_staff, xingfu_staff, manan_member, term, *, extra=0):
    """What a member of 马南社区 has going on, and what is not theirs, ``extra`` times more."""
    from issues.actions import handling
    from members import notifications
    from members.models import Notice
    from tests import factories
    from tests.helpers.clock import NOW

    for _ in range(1 + extra):
        factories.issue(manan, actor=manan_member, title="楼道堆物")  # reported, open
        mine_done = factories.issue(manan, actor=manan_member, title="路灯坏了")
        handling.issue_transition(issue=mine_done, actor=manan_staff, name="start")
        handling.issue_transition(issue=mine_done, actor=manan_staff, name="resolve")
        assigned = factories.issue(manan, actor=manan_staff, title="晾衣区")
        handling.issue_assign(issue=assigned, actor=manan_staff, members=[term])
        assigned_done = factories.issue(manan, actor=manan_staff, title="饮水机")
        handling.issue_assign(issue=assigned_done, actor=manan_staff, members=[term])
        handling.issue_transition(issue=assigned_done, actor=manan_staff, name="start")
        handling.issue_transition(issue=assigned_done, actor=manan_staff, name="resolve")
        factories.issue(manan, actor=manan_staff, title="别人的事")  # neither reported nor assigned
        factories.issue(xingfu, actor=xingfu_staff, title="幸福村的事")
    start = NOW + dt.timedelta(days=2, hours=extra)
    for n in range(2 + extra):
        factories.meeting(manan, start + dt.timedelta(days=10 * n))
    factories.meeting(manan, start + dt.timedelta(days=5), state="cancelled")
    factories.meeting(manan, NOW - dt.timedelta(days=3, hours=extra), state="held")
    factories.meeting(xingfu, start)
    with TestCase.captureOnCommitCallbacks(execute=True):  # delivered, as after a commit
        for n in range(3 + extra):
            key = f"t{n}:{extra}"
            notifications.notify(manan_member, "test", {"text": f"通知{n}"}, ["inapp"], key=key)
    Notice.objects.filter(recipient=manan_member, key=f"t0:{extra}:inapp").update(read_at=NOW)


@pytest.mark.django_db
def test_an_elder_member_starts_from_four_tiles_with_their_own_counts(
    as_user, manan, xingfu, manan_staff, xingfu_staff, manan_member, manan_leader_term
):
    a_members_month(manan, xingfu, manan_staff, xingfu_staff, manan_member, manan_leader_term)
    client = as_user(manan_member)
    toggle(client, reverse("home"))

    response = client.get(reverse("home"))
    assert response["Location"] == reverse("meetings:member_home")
    page = client.get(reverse("meetings:member_home")).content.decode()

    assert tile_counts(page) == {
        "tile-report": 2,  # one reported and open, one assigned and open
        "tile-meetings": 2,  # not the cancelled one, not the one held, not 幸福村's
        "tile-tasks": 1,  # the open issue assigned to the member
        "tile-notices": 2,  # three notices, one read
    }
    assert reverse("issues:report", args=[manan.pk]) in page
    for label in ("我要反映", "我的会议", "我的任务", "消息"):
        assert label in page


@pytest.mark.django_db
def test_the_tiles_cost_the_same_queries_for_few_and_many(
    as_user,
    manan,
    xingfu,
    manan_staff,
    xingfu_staff,
    manan_member,
    manan_leader_term,
    django_assert_num_queries,
):
    a_members_month(manan, xingfu, manan_staff, xingfu_staff, manan_member, manan_leader_term)
    client = as_user(manan_member)
    toggle(client, reverse("home"))
    url = reverse("meetings:member_home")
    # session, user, the header (roles, unread notices), terms, three counts, and whether
    # the member volunteers (the fifth tile)
    with django_assert_num_queries(8):
        client.get(url)
    a_members_month(
        manan, xingfu, manan_staff, xingfu_staff, manan_member, manan_leader_term, extra=3
    )
    with django_assert_num_queries(8):
        page = client.get(url).content.decode()
    assert tile_counts(page)["tile-tasks"] == 5


@pytest.mark.django_db
def test_in_the_standard_mode_a_member_starts_from_their_council(as_user, manan_member):
    assert as_user(manan_member).get(reverse("home"))["Location"] == reverse("members:me")


@pytest.mark.django_db
def test_staff_in_elder_mode_keep_their_own_home_and_have_no_tiles(as_user, manan, manan_staff):
    client = as_user(manan_staff)
    toggle(client, reverse("home"))
    assert client.get(reverse("home"))["Location"] == reverse("members:residents", args=[manan.pk])
    assert client.get(reverse("meetings:member_home"))["Location"] == reverse("home")


@pytest.mark.django_db
def test_elder_mode_chosen_on_the_login_page_is_kept_for_the_account(client, manan_member):
    from tests.factories import PASSWORD

    toggle(client, reverse("login"))
    response = client.post(reverse("login"), {"username": "manan_member", "password": PASSWORD})

    assert response.status_code == 302
    manan_member.refresh_from_db()
    assert manan_member.elder_mode is True
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse("meetings:member_home")


@pytest.mark.django_db
def test_a_login_from_a_standard_device_leaves_the_account_as_it_was(client, manan_member):
    from tests.factories import PASSWORD

    client.post(reverse("login"), {"username": "manan_member", "password": PASSWORD})
    manan_member.refresh_from_db()
    assert manan_member.elder_mode is False
