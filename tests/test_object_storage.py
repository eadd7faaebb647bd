"""Files in an S3-compatible object store: photos, report PDFs and exports, kept private.

The store is a real one (SeaweedFS's ``weed server -s3`` on loopback, started once per
session by the ``object_store`` fixture). Tests taking ``file_store`` run twice: on the local
disk and on the object store, with the same assertions.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from django.urls import reverse

from issues.models import Issue, Photo
from tests import factories
from tests.helpers.photos import jpeg


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
