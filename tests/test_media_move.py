"""Moving local media into the object store: copied, verified, nothing switched until all are.

Runs on a real S3-compatible server (SeaweedFS, the ``object_store`` fixture).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from common import media_move
from tests import factories
from tests.helpers import object_store as helper
from tests.helpers.photos import jpeg

pytestmark = pytest.mark.object_store


@pytest.fixture
def on_disk(settings, tmp_path, manan, manan_staff):
    """An issue with a photo, and an export file, kept under MEDIA_ROOT as today."""
    settings.MEDIA_ROOT = tmp_path / "media"
    issue = factories.issue(manan, actor=manan_staff, uploads=[jpeg()])
    export = settings.MEDIA_ROOT / "exports" / "abc" / "issues-2026-11-18-1000-3rows.csv"
    export.parent.mkdir(parents=True)
    export.write_bytes("\ufeff编号,标题\n1,电梯\n".encode())
    return issue


def move(**options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("move_media_to_object_store", stdout=out, stderr=err, **options)
    except CommandError as error:
        err.write(str(error))
    return out.getvalue(), err.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_file_is_copied_verified_and_the_setting_printed_and_a_rerun_copies_nothing(
    on_disk, settings, object_store, manan_staff, as_user
):
    root = Path(settings.MEDIA_ROOT)
    local = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert len(local) == 2
    bucket, location = object_store.bucket, "moved"
    with helper.storage_on(object_store, bucket, location):
        out, err = move(source=str(root))
        assert "2 copied, 0 already in the store, 0 failed" in out and not err
        assert (
            f"S3_BUCKET={bucket}" in out and f"S3_ENDPOINT_URL={object_store.endpoint_url}" in out
        )
        assert object_store.keys(bucket, location) == sorted(local)
        client = object_store.client()
        for name, data in local.items():
            stored = client.get_object(Bucket=bucket, Key=f"{location}/{name}")
            body = stored["Body"].read()
            assert sha256(body) == sha256(data) and stored["Metadata"]["sha256"] == sha256(data)

        # Switched: the same row's photo is now read from the store, at the same URL.
        photo = on_disk.photos.get()
        response = as_user(manan_staff).get(reverse("issues:photo", args=[on_disk.pk, photo.pk]))
        assert b"".join(response.streaming_content) == local[photo.image.name]

        again, err = move(source=str(root))
        assert "0 copied, 2 already in the store, 0 failed" in again and not err
        assert "copied  " not in again


def test_a_copy_that_does_not_verify_switches_nothing_and_the_rerun_copies_only_it(
    on_disk, settings, object_store, monkeypatch
):
    root = Path(settings.MEDIA_ROOT)
    photo_name = on_disk.photos.get().image.name
    real_upload = media_move.upload

    def torn_upload(store_object, path, checksum):
        if path.name.endswith(".jpg"):  # the photo arrives cut short
            store_object.put(Body=path.read_bytes()[:100], Metadata={"sha256": checksum})
            return
        real_upload(store_object, path, checksum)

    bucket, location = object_store.bucket, "torn"
    with helper.storage_on(object_store, bucket, location):
        monkeypatch.setattr(media_move, "upload", torn_upload)
        out, err = move(source=str(root))
        assert "1 copied, 0 already in the store, 1 failed" in out
        assert f"not verified: {photo_name}" in err and "nothing was switched" in err
        assert "S3_BUCKET=" not in out

        monkeypatch.setattr(media_move, "upload", real_upload)
        out, err = move(source=str(root))
        assert "1 copied, 1 already in the store, 0 failed" in out and not err
        assert f"copied  {photo_name}" in out and f"S3_BUCKET={bucket}" in out


def test_without_an_object_store_the_command_says_what_to_set(on_disk, settings):
    out, err = move(source=str(settings.MEDIA_ROOT))
    assert "S3_ENDPOINT_URL and S3_BUCKET" in err and "copied" not in out
