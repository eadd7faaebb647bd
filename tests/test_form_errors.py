"""Forms that failed: an error summary at the top linking to each field, every
aria-describedby naming elements that exist, and what was typed kept."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from public import views as public_views


class Page(HTMLParser):
    """The ids of a page, the aria-describedby of its elements, and its error summaries."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described: list[tuple[str, str, str]] = []  # (tag, id, aria-describedby)
        self.summaries: list[dict[str, str | None]] = []
        self.summary_links: list[str] = []
        self._summary_tag = ""
        self._depth = 0  # of the summary's own tag inside it
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if attrs.get("aria-describedby"):
            self.described.append((tag, attrs.get("id") or "", attrs["aria-describedby"]))
        if "data-error-summary" in attrs:
            self.summaries.append(attrs)
            self._summary_tag, self._depth = tag, 1
        elif self._summary_tag:
            self._depth += tag == self._summary_tag
            if tag == "a" and (attrs.get("href") or "").startswith("#"):
                self.summary_links.append(attrs["href"][1:])

    def handle_endtag(self, tag):
        if self._summary_tag and tag == self._summary_tag:
            self._depth -= 1
            if not self._depth:
                self._summary_tag = ""

    def dangling(self) -> list[str]:
        """aria-describedby ids that name nothing in the page."""
        return [
            f"{tag}#{own}: {name}"
            for tag, own, names in self.described
            for name in names.split()
            if name not in self.ids
        ]


def check_failed_form(html: str, *, fields: set[str]) -> Page:
    page = Page(html)
    assert not page.dangling(), page.dangling()
    assert len(page.summaries) == 1, "one error summary"
    (summary,) = page.summaries
    assert summary.get("tabindex") == "-1" and summary.get("role") == "alert"
    assert set(page.summary_links) == fields, page.summary_links
    for target in page.summary_links:
        assert target in page.ids
    # Each field in error names its own error element, which holds the message.
    for _tag, own, names in page.described:
        if own in fields:
            assert f"{own}_error" in names.split()
    return page


@pytest.mark.django_db
def test_a_resident_form_that_failed_links_each_field_and_keeps_what_was_typed(
    as_user, manan, manan_staff
):
    url = reverse("members:resident_create", args=[manan.pk])
    page = Page(as_user(manan_staff).get(url).content.decode())
    assert not page.dangling() and page.summaries == []
    assert ("input", "id_phone", "id_phone_helptext") in page.described

    response = as_user(manan_staff).post(url, {"name": "", "building": "3栋", "phone": "12"})

    html = response.content.decode()
    check_failed_form(html, fields={"id_name", "id_phone"})
    assert re.search(r'<input[^>]*name="building"[^>]*value="3栋"', html)
    assert re.search(r'aria-describedby="id_phone_helptext id_phone_error"', html)


@pytest.mark.django_db
def test_the_staff_intake_form_that_failed_has_its_summary(as_user, manan, manan_staff):
    url = reverse("issues:report", args=[manan.pk])
    response = as_user(manan_staff).post(url, {"title": "", "description": "楼道里堆满杂物"})
    html = response.content.decode()
    page = Page(html)
    assert not page.dangling(), page.dangling()
    assert len(page.summaries) == 1 and "id_title" in page.summary_links
    assert "楼道里堆满杂物" in html


@pytest.mark.django_db
def test_the_login_form_that_failed_has_its_summary(client, manan_staff):
    response = client.post(reverse("login"), {"username": "manan_staff", "password": ""})
    html = response.content.decode()
    check_failed_form(html, fields={"id_password"})
    assert 'value="manan_staff"' in html


@pytest.mark.django_db
def test_the_public_form_that_failed_has_its_summary(client, manan):
    url = reverse("public:report", args=[public_views.public_form_token(manan)])
    page = Page(client.get(url).content.decode())
    assert not page.dangling() and page.summaries == []
    stamp = re.search(r'name="rendered" value="([^"]*)"', client.get(url).content.decode())

    response = client.post(
        url, {"rendered": stamp.group(1), "title": "", "description": "路灯坏了三天"}
    )

    assert response.status_code == 422
    html = response.content.decode()
    page = Page(html)
    assert not page.dangling(), page.dangling()
    assert len(page.summaries) == 1 and "id_title" in page.summary_links
    assert "路灯坏了三天" in html


@pytest.mark.django_db
def test_a_tracking_code_lookup_that_failed_names_its_error(client):
    response = client.get(reverse("public:track"), {"code": "  "})
    page = Page(response.content.decode())
    assert not page.dangling()
    assert ("input", "code", "code-help code-error") in page.described
    assert len(page.summaries) == 1 and page.summary_links == ["code"]


@pytest.mark.django_db
def test_the_form_pages_name_only_elements_that_exist(as_user, manan, manan_staff, nanen_admin):
    """Before anything is sent, every described-by id of each form page exists."""
    client = as_user(manan_staff)
    for url in [
        reverse("issues:report", args=[manan.pk]),
        reverse("members:resident_create", args=[manan.pk]),
        reverse("members:council_member_join", args=[manan.pk]),
        reverse("schedules:create", args=[manan.pk]),
        reverse("issues:inbox"),
        reverse("reports:community_dashboard", args=[manan.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert not Page(response.content.decode()).dangling(), url


@pytest.mark.django_db
def test_a_decision_that_failed_has_its_summary_whole_page_or_htmx(as_user, manan, manan_staff):
    import datetime as dt

    from issues.actions import handling
    from tests import factories
    from tests.helpers.clock import NOW

    meeting = factories.meeting(manan, NOW - dt.timedelta(minutes=5))
    issue = factories.issue(manan, actor=manan_staff, title="小区东门路灯坏了")
    issue = handling.issue_transition(issue=issue, actor=manan_staff, name="accept")
    item = meeting.agenda_items.create(issue=issue, position=0)
    url = reverse("meetings:decide", args=[meeting.pk, item.pk])
    client = as_user(manan_staff)
    typed = {f"item-{item.pk}-notes": "先请物业看看"}

    for response in (client.post(url, typed), client.post(url, typed, HTTP_HX_REQUEST="true")):
        html = response.content.decode()
        page = Page(html)
        assert not page.dangling(), page.dangling()
        assert len(page.summaries) == 1
        assert f"id_item-{item.pk}-outcome" in page.summary_links
        assert "先请物业看看" in html
