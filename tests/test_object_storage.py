"""Files in an S3-compatible object store: photos, report PDFs and exports, kept private.

The store is a real one (SeaweedFS's ``weed server -s3`` on loopback, started once per
session by the ``object_store`` fixture). Tests taking ``file_store`` run twice: on the local
disk and on the object store, with the same assertions.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from issues.actions import intake
from issues.models import Event, Issue, Photo
from tests import factories
from tests.helpers.photos import jpeg

ROOT = Path(__file__).resolve().parent.parent


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return gettext(text)


def stored_bytes(field_file) -> bytes:
    with field_file.storage.open(field_file.name, "rb") as stored:
        return stored.read()


@pytest.fixture
def manan_issue(manan, manan_staff, file_store):
    return factories.issue(manan, actor=manan_staff, title="三栋电梯停运", uploads=[jpeg()])


def test_a_photo_is_served_to_who_sees_the_issue_and_404_to_outsiders(
    manan_issue, manan_staff, manan_member, nanen_admin, xingfu_staff, other_admin, as_user
):
    photo = manan_issue.photos.get()
    url = reverse("issues:photo", args=[manan_issue.pk, photo.pk])
    for reader in (manan_staff, manan_member, nanen_admin):
        response = as_user(reader).get(url)
        assert response.status_code == 200, reader.username
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, no-store"
        body = b"".join(response.streaming_content)
        assert body == stored_bytes(photo.image) and body[:2] == b"\xff\xd8"
        assert response["Content-Length"] == str(len(body))
    for outsider in (xingfu_staff, other_admin):
        assert as_user(outsider).get(url).status_code == 404
        assert as_user(outsider).get(url, HTTP_HX_REQUEST="true").status_code == 404


@pytest.mark.object_store
def test_on_the_object_store_the_photo_is_in_the_bucket_and_not_public(
    manan, manan_staff, as_user, s3_storage, object_store
):
    issue = factories.issue(manan, actor=manan_staff, uploads=[jpeg()])
    photo = issue.photos.get()
    bucket, location = s3_storage
    assert object_store.keys(bucket, location) == [photo.image.name]
    # Nobody reaches it without credentials: the bucket is private.
    plain = f"{object_store.endpoint_url}/{bucket}/{location}/{photo.image.name}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(plain, timeout=10)
    assert refused.value.code == 403
    # The page links the app's scoped view, as on the local disk, never the store.
    page = as_user(manan_staff).get(reverse("issues:detail", args=[issue.pk])).content.decode()
    assert reverse("issues:photo", args=[issue.pk, photo.pk]) in page
    assert object_store.endpoint_url not in page and location not in page


def test_a_council_member_reports_with_a_photo_from_the_phone_form(
    manan, nanen, manan_member, as_user, file_store
):
    response = as_user(manan_member).post(
        reverse("issues:report", args=[manan.pk]),
        {
            "title": "化粪池堵塞", "category": factories.category(nanen, "neighbours").pk,
            "place": "2栋一楼", "photos": [jpeg(size=(3000, 2000))],
        },
    )  # fmt: skip
    assert response.status_code == 302
    photo = Issue.objects.get().photos.get()
    assert max(photo.width, photo.height) == 1600
    assert stored_bytes(photo.image)[:2] == b"\xff\xd8"
    shown = as_user(manan_member).get(reverse("issues:photo", args=[photo.issue_id, photo.pk]))
    assert b"".join(shown.streaming_content) == stored_bytes(photo.image)


def test_staff_intake_keeps_the_photo_taken_on_the_phone(
    manan, nanen, manan_staff, as_user, file_store
):
    wang = factories.resident(manan, "王秀英", building="3栋")
    response = as_user(manan_staff).post(
        reverse("issues:report", args=[manan.pk]),
        {
            "channel": "hotline", "reporter_mode": "existing", "reporter": wang.pk,
            "title": "3号楼电梯停了", "category": factories.category(nanen, "facilities").pk,
            "description": "", "place": "", "photos": [jpeg(name="lift.jpg")],
        },
    )  # fmt: skip
    assert response.status_code == 302
    issue = Issue.objects.get()
    photo = Photo.objects.get(issue=issue)
    assert photo.image.storage.exists(photo.image.name)
    shown = as_user(manan_staff).get(reverse("issues:photo", args=[issue.pk, photo.pk]))
    assert shown.status_code == 200


# --- Faults --------------------------------------------------------------------------------


@pytest.mark.object_store
def test_a_member_whose_photo_the_store_refuses_keeps_the_report_and_is_asked_again(
    manan, nanen, manan_member, as_user, store_unreachable
):
    client = as_user(manan_member)
    response = client.post(
        reverse("issues:report", args=[manan.pk]),
        {
            "title": "化粪池堵塞", "category": factories.category(nanen, "neighbours").pk,
            "description": "二单元门口污水外溢", "place": "2栋一楼", "photos": [jpeg()],
        },
        follow=True,
    )  # fmt: skip
    issue = Issue.objects.get()
    assert (issue.title, issue.description) == ("化粪池堵塞", "二单元门口污水外溢")
    assert not Photo.objects.exists()  # no row points at a file the store never took
    assert not issue.events.filter(kind=Event.Kind.PHOTO).exists()
    assert issue.events.filter(kind=Event.Kind.CREATED).exists()
    assert response.redirect_chain[-1][0].startswith(reverse("issues:detail", args=[issue.pk]))
    page = response.content.decode()
    assert (
        zh(
            "The report was saved, but its photos could not be stored just now. "
            "Please add the photos again on this page in a moment."
        )
        in page
    )
    assert reverse("issues:add_photos", args=[issue.pk]) in page  # where to try again


@pytest.mark.object_store
def test_adding_a_photo_while_the_store_is_down_is_refused_and_writes_nothing(
    manan, manan_staff, as_user, object_store, store_unreachable
):
    issue = factories.issue(manan, actor=manan_staff)
    events_before = issue.events.count()
    response = as_user(manan_staff).post(
        reverse("issues:add_photos", args=[issue.pk]), {"photos": [jpeg()]}
    )
    assert response.status_code == 422
    assert (
        zh("The photo could not be stored just now. Please try the photo again in a moment.")
        in response.content.decode()
    )
    assert not Photo.objects.exists() and issue.events.count() == events_before


def test_a_photo_missing_from_the_store_is_left_off_the_page_and_logged(
    manan_issue, manan_staff, as_user, caplog
):
    (kept,) = intake.issue_add_photos(issue=manan_issue, actor=manan_staff, uploads=[jpeg()])
    photo = manan_issue.photos.exclude(pk=kept.pk).get()
    photo.image.storage.delete(photo.image.name)
    client = as_user(manan_staff)
    url = reverse("issues:photo", args=[manan_issue.pk, photo.pk])
    with caplog.at_level(logging.WARNING, logger="common.files"):
        page = client.get(reverse("issues:detail", args=[manan_issue.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert manan_issue.title in html and url not in html
    assert reverse("issues:photo", args=[manan_issue.pk, kept.pk]) in html
    assert f"photo missing from the file store: {photo.image.name}" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="common.files"):
        assert client.get(url).status_code == 404
    assert f"photo missing from the file store: {photo.image.name}" in caplog.text


def test_the_s3_settings_choose_a_private_object_store_and_none_keep_the_disk():
    """What deliberation.settings makes of the environment, read in a fresh process."""
    script = (
        "import json; from django.conf import settings; "
        "d = settings.STORAGES['default']; o = d.get('OPTIONS', {}); "
        "print(json.dumps([d['BACKEND'], o.get('bucket_name'), o.get('default_acl', 'x'), "
        "o.get('querystring_auth'), o.get('querystring_expire')]))"
    )
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith("S3_") and key != "DJANGO_SETTINGS_MODULE"
    }  # fmt: skip
    env["DJANGO_SETTINGS_MODULE"] = "deliberation.settings_test"

    def read(**extra: str) -> list:
        argv = [sys.executable, "-c", f"import django; django.setup(); {script}"]
        done = subprocess.run(
            argv, env={**env, **extra}, cwd=ROOT, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert read()[0] == "django.core.files.storage.FileSystemStorage"
    assert read(
        S3_ENDPOINT_URL="http://store:8333", S3_BUCKET="yishi", S3_ACCESS_KEY_ID="k",
        S3_SECRET_ACCESS_KEY="s",
    ) == ["storages.backends.s3.S3Storage", "yishi", None, True, 60]  # fmt: skip


def test_the_object_store_is_asked_about_a_pages_photos_once_in_a_while(
    manan_issue, manan_staff, as_user, file_store, monkeypatch
):
    """Each existence question to an object store is a request over the network: an issue
    page asks about the photos it has not seen lately, not about every photo every time."""
    intake.issue_add_photos(issue=manan_issue, actor=manan_staff, uploads=[jpeg(), jpeg()])
    storage = manan_issue.photos.first().image.storage
    asked = []
    backend = type(getattr(storage, "_wrapped", storage))  # the default storage is lazy
    real_exists = backend.exists
    monkeypatch.setattr(
        backend, "exists", lambda self, name: asked.append(name) or real_exists(self, name)
    )
    client = as_user(manan_staff)
    urls = [reverse("issues:photo", args=[manan_issue.pk, p.pk]) for p in manan_issue.photos.all()]
    for _ in range(3):
        page = client.get(reverse("issues:detail", args=[manan_issue.pk])).content.decode()
        assert all(url in page for url in urls)
    on_disk = file_store is None  # a stat of a local file costs nothing worth keeping
    assert len(asked) == (3 * len(urls) if on_disk else len(urls))
