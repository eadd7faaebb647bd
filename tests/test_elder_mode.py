"""The 长辈版 switch in every page's header: kept on the account, or on the device."""

from __future__ import annotations

import re

import pytest
from django.test import Client
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
