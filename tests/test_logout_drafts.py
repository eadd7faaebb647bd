"""What a shared office computer keeps after logout: no drafts, no photos in the cache."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from tests import factories

SESSION = re.compile(r'data-draft-session="([^"]*)"')


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), "red").save(buffer, "JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def draft_session(client: Client) -> str:
    page = client.get(reverse("home"), follow=True)
    return SESSION.search(page.content.decode()).group(1)


def test_logout_tells_the_browser_to_clear_what_the_site_stored(manan_staff):
    client = logged_in(manan_staff)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"storage"'
    assert "no-store" in response["Cache-Control"]


def test_photos_are_not_kept_in_the_browsers_cache(manan, manan_staff, media):
    issue = factories.issue(manan, actor=manan_staff, uploads=[jpeg()])
    url = reverse("issues:photo", args=[issue.pk, issue.photos.get().pk])

    response = logged_in(manan_staff).get(url)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "max-age=3600" not in response["Cache-Control"]


def test_drafts_are_kept_under_an_id_of_the_login(manan_staff):
    first = logged_in(manan_staff)
    second = logged_in(manan_staff)

    ids = {draft_session(first), draft_session(second)}

    assert len(ids) == 2 and "" not in ids  # each login its own id
    assert draft_session(first) == draft_session(first)  # the same all through a login
    first.post(reverse("logout"))
    login_page = first.get(reverse("login"))
    # Logged out, the page names no login: its script drops every draft.
    assert SESSION.search(login_page.content.decode()).group(1) == ""
