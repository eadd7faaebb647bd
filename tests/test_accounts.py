"""Logging in, landing on one's role's page, lockout, language, and security headers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.mark.parametrize(
    ("person", "landing"),
    [
        ("manan_staff", "members:residents"),
        ("nanen_admin", "members:street"),
        ("manan_member", "members:me"),
        ("city_handler", "issues:work"),
    ],
)
def test_each_role_lands_on_its_home_page(request, person, landing, manan):
    user = request.getfixturevalue(person)
    client = Client()
    response = client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD}, follow=True
    )
    assert response.resolver_match.view_name == landing
    assert response.status_code == 200


def test_street_home_lists_its_communities_with_counts(nanen, manan, xingfu, nanen_admin, as_user):
    from tests import factories

    for _ in range(3):
        factories.resident(manan)
    gone = factories.resident(manan)
    gone.is_active = False
    gone.deactivated_at = gone.created
    gone.save()
    factories.council_member(manan)
    page = as_user(nanen_admin).get(reverse("members:street", args=[nanen.pk]))
    counts = {c.name: (c.resident_count, c.member_count) for c in page.context["communities"]}
    assert counts == {"马南社区": (4, 1), "幸福村社区": (0, 0)}
    assert page.context["totals"] == {"residents": 4, "members": 1}


def test_council_member_home_shows_their_council_and_profile(manan_member, as_user):
    page = as_user(manan_member).get(reverse("members:me")).content.decode()
    assert "马南社区居民议事会" in page and "王建国" in page


def test_an_account_without_role_is_told_so(db):
    from tests import factories

    client = Client()
    client.force_login(factories.user("nobody"))
    assert client.get(reverse("home")).status_code == 403


def test_login_locks_out_after_repeated_failures(manan_staff, settings):
    client = Client(REMOTE_ADDR="10.0.0.7")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "manan_staff", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its message
    client.post(reverse("login"), {"username": "manan_staff", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "manan_staff", "password": PASSWORD})
    assert locked.status_code == 429
    assert "15" in locked.content.decode()  # says when to try again
    assert "_auth_user_id" not in client.session
    # Another address is not locked out with it: a neighbour's typing cannot lock staff out.
    other = Client(REMOTE_ADDR="10.0.0.8")
    ok = other.post(reverse("login"), {"username": "manan_staff", "password": PASSWORD})
    assert ok.status_code == 302


def test_wrong_password_message_keeps_the_username(manan_staff):
    response = Client().post(reverse("login"), {"username": "manan_staff", "password": "wrong"})
    html = response.content.decode()
    assert 'value="manan_staff"' in html
    assert response.context["form"].non_field_errors()


def test_default_language_is_simplified_chinese(db):
    response = Client().get(reverse("login"))
    assert '<html lang="zh-hans">' in response.content.decode()
    assert "登录" in response.content.decode()


def test_language_switch_sticks_and_switches_back(manan_staff):
    client = Client()
    client.force_login(manan_staff)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("members:notices")).content.decode()
    assert '<html lang="en">' in page and "Notices" in page
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("members:notices")).content.decode()
    assert '<html lang="zh-hans">' in page and "通知" in page


def test_security_headers_and_csp(manan_staff, as_user):
    response = as_user(manan_staff).get(reverse("members:notices"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_pages_load_nothing_from_other_origins(manan_staff, as_user):
    html = as_user(manan_staff).get(reverse("members:notices")).content.decode()
    assert "http://" not in html and "https://" not in html
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert "hx-headers" in html and "X-CSRFToken" in html


def test_htmx_post_without_csrf_token_is_refused(manan, manan_staff):
    from tests import factories

    resident = factories.resident(manan, phone="13812345678")
    client = Client(enforce_csrf_checks=True)
    client.force_login(manan_staff)
    url = reverse("members:resident_phone", args=[manan.pk, resident.pk])
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 403
    client.get(reverse("members:residents", args=[manan.pk]))
    token = client.cookies["csrftoken"].value
    response = client.post(url, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200


def test_health_endpoint(db):
    assert Client().get(reverse("health")).json() == {"status": "ok"}
