"""A council member reports an issue from a phone: photo shrunk in the browser, draft kept.

The photo is a real camera-sized JPEG (4000×3000, EXIF orientation 6 and GPS
tags). The browser must shrink it before upload (static/js/issue-form.js), the
server must store it small, upright and without any metadata, and nothing typed
or photographed may be lost to a reload, a refused form or a failed upload.
"""

from __future__ import annotations

import io
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw, ImageOps
from playwright.sync_api import expect

from issues import photos as photo_processing
from issues.models import Issue, Photo
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser

MAX_SIDE = 1600
# 南恩街道, Xiamen: where the fake phone says it is.
POSITION = {"latitude": 24.453912, "longitude": 118.082345, "accuracy": 12}
RED = (255, 0, 0)

# Reads the photos a draft keeps in IndexedDB: how many, and their total size.
KEPT_PHOTOS = """async (key) => await new Promise((resolve, reject) => {
  const opening = indexedDB.open("yishi-drafts", 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore("photos");
  opening.onerror = () => reject(opening.error);
  opening.onsuccess = () => {
    const db = opening.result;
    const request = db.transaction("photos", "readonly").objectStore("photos").get(key);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      db.close();
      const files = (request.result && request.result.files) || [];
      resolve([files.length, files.reduce((sum, f) => sum + f.blob.size, 0)]);
    };
  };
})"""
CHOSEN_FILES = "el => Array.from(el.files).map(f => [f.name, f.type, f.size])"


def camera_photo(path: Path, size: tuple[int, int] = (4000, 3000), *, orientation: int = 6) -> Path:
    """A noisy JPEG like a phone's: sideways pixels, EXIF orientation and a GPS position.

    The top-left quarter of the stored pixels is red; once the orientation is
    applied that corner moves, which shows whether anyone applied it.
    """
    width, height = size
    noise = Image.effect_noise(size, 40)
    ramp = Image.linear_gradient("L").resize(size)
    picture = Image.merge(
        "RGB",
        (
            Image.blend(ramp, noise, 0.35),
            Image.blend(ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.35),
            noise,
        ),
    )
    ImageDraw.Draw(picture).rectangle((0, 0, width // 4, height // 4), fill=RED)
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "YishiCam"  # Make
    exif.get_ifd(0x8825).update(  # GPSInfo: a home's position, personal information
        {1: "N", 2: (24.0, 27.0, 14.0), 3: "E", 4: (118.0, 4.0, 56.0)}
    )
    picture.save(path, "JPEG", quality=90, exif=exif)
    return path


def red_corner(image: Image.Image) -> str:
    """Which corner of an upright picture is the red one."""
    width, height = image.size
    corners = {
        "top-left": (width // 20, height // 20),
        "top-right": (width - width // 20, height // 20),
        "bottom-left": (width // 20, height - height // 20),
        "bottom-right": (width - width // 20, height - height // 20),
    }
    rgb = image.convert("RGB")
    found = [
        name
        for name, xy in corners.items()
        if (lambda p: p[0] > 200 and p[1] < 60 and p[2] < 60)(rgb.getpixel(xy))
    ]
    assert len(found) == 1, f"expected one red corner, found {found}"
    return found[0]


def draft_text(page, key: str):
    return page.evaluate("key => localStorage.getItem('yishi:draft:' + key)", key)


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded photos go to a folder of this test, not the project's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def received(monkeypatch) -> list[tuple[str, int]]:
    """Name and size of each photo as the server received it (the live server runs in-process)."""
    seen: list[tuple[str, int]] = []
    process = photo_processing.process

    def recording(upload):
        seen.append((upload.name, upload.size))
        return process(upload)

    monkeypatch.setattr(photo_processing, "process", recording)
    return seen


@pytest.fixture
def screenshots(artefacts) -> Path:
    folder = artefacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def reporting(transactional_db, manan, manan_member, live_server, media):
    path = reverse("issues:report", args=[manan.pk])
    return {
        "community": manan,
        "url": live_server.url + path,
        "path": path,
        "key": f"issue-report-{manan.pk}-{manan_member.pk}",
        "category": factories.category(manan.street, "facilities"),
    }


def test_member_reports_an_issue_with_a_photo_and_location(
    reporting, open_tab, log_in, live_server, tmp_path, screenshots, received
):
    original = camera_photo(tmp_path / "IMG_0001.jpg")
    original_size = original.stat().st_size
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(POSITION)
    posted: list[int] = []

    def on_request(request) -> None:
        # Chromium leaves a file the page built out of post_data_buffer, so the
        # body's size is read from the Content-Length it sent.
        if request.method == "POST" and request.url == reporting["url"]:
            length = request.all_headers().get("content-length", "0")
            posted.append(max(int(length), len(request.post_data_buffer or b"")))

    page.on("request", on_request)

    log_in(page, "manan_member")
    page.locator(f"main a[href='{reporting['path']}']").click()
    expect(page).to_have_url(reporting["url"])
    form = page.locator("form[data-issue-form]")
    photos = form.locator("input[name=photos]")
    photo_status = form.locator("[data-photo-status]")

    started = time.monotonic()
    form.locator("input[name=title]").fill("3号楼电梯停了")
    form.locator("select[name=category]").select_option(str(reporting["category"].pk))
    form.locator("textarea[name=description]").fill("电梯停在5楼，老人上下楼不方便。")
    form.locator("input[name=place]").fill("3栋1单元")

    # Use my location: the button shows only where the browser can locate.
    locate = form.locator("button[data-locate]")
    expect(locate).to_be_visible()
    locate.click()
    expect(form.locator("[data-locate-status]")).to_have_attribute("data-state", "ready")
    expect(form.locator("[data-locate-status]")).to_contain_text("12")
    expect(form.locator("input[name=latitude]")).to_have_value("24.453912")
    expect(form.locator("input[name=longitude]")).to_have_value("118.082345")

    # One photo from the file chooser, shrunk in the browser before anything is sent.
    with page.expect_file_chooser() as chooser:
        photos.click()
    chooser.value.set_files(original)
    expect(photo_status).to_have_attribute("data-state", "ready")
    ((name, kind, size),) = photos.evaluate(CHOSEN_FILES)
    assert (name, kind) == ("IMG_0001.jpg", "image/jpeg")
    assert size < original_size / 4, f"the browser kept {size} of {original_size} bytes"
    expect(photo_status).to_contain_text(f"{round(size / 1024)} KB")
    expect(form.locator("button[type=submit]")).to_be_enabled()

    # A reload (a tap on the wrong place, the phone freeing memory) loses nothing.
    page.wait_for_function(
        "key => localStorage.getItem('yishi:draft:' + key) !== null", arg=reporting["key"]
    )
    assert page.evaluate(KEPT_PHOTOS, reporting["key"]) == [1, size]
    page.reload()
    expect(form.locator("input[name=title]")).to_have_value("3号楼电梯停了")
    expect(form.locator("select[name=category]")).to_have_value(str(reporting["category"].pk))
    expect(form.locator("textarea[name=description]")).to_have_value(
        "电梯停在5楼，老人上下楼不方便。"
    )
    expect(form.locator("input[name=place]")).to_have_value("3栋1单元")
    expect(form.locator("input[name=latitude]")).to_have_value("24.453912")
    expect(form.locator("input[name=longitude]")).to_have_value("118.082345")
    expect(photo_status).to_have_attribute("data-state", "restored")
    assert photos.evaluate(CHOSEN_FILES) == [["IMG_0001.jpg", "image/jpeg", size]]
    expect(form.locator("[data-draft-note]")).to_be_visible()
    assert not scrolls_sideways(page), "the report form scrolls sideways at 360 px"
    page.screenshot(path=screenshots / "issue-report-360.png", full_page=True)

    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    elapsed = time.monotonic() - started
    issue = Issue.objects.get()
    expect(page).to_have_url(
        live_server.url + reverse("issues:detail", args=[issue.pk]) + "?reported=1"
    )
    expect(page.locator("main h1")).to_have_text("3号楼电梯停了")
    assert elapsed < 60, f"filling in and sending took {elapsed:.0f} s"

    # What was stored.
    assert issue.community == reporting["community"]
    assert issue.category == reporting["category"]
    assert issue.description == "电梯停在5楼，老人上下楼不方便。"
    assert issue.place == "3栋1单元"
    assert (issue.latitude, issue.longitude) == (Decimal("24.453912"), Decimal("118.082345"))
    assert issue.channel == Issue.Channel.PATROL
    (photo,) = Photo.objects.filter(issue=issue)
    with photo.image.open("rb") as stored_file:
        stored_bytes = stored_file.read()
    stored = Image.open(io.BytesIO(stored_bytes))
    assert stored.format == "JPEG"
    assert max(stored.size) <= MAX_SIDE
    assert stored.height > stored.width, f"{stored.size}: the orientation was not applied"
    with Image.open(original) as camera:
        assert red_corner(stored) == red_corner(ImageOps.exif_transpose(camera)) == "top-right"
    assert not stored.getexif(), "the stored photo still has EXIF"
    assert "exif" not in stored.info
    assert b"Exif\x00\x00" not in stored_bytes
    assert (photo.width, photo.height) == stored.size

    # The browser sent the shrunk photo, not the 5 MB original.
    assert posted, "the report was never posted"
    assert size < posted[-1] < original_size / 4, f"{posted[-1]} bytes posted for {original_size}"
    assert received == [("IMG_0001.jpg", size)], "the server did not receive the shrunk photo"

    # The issue page tells the browser to forget the draft: text and photos.
    expect(page.locator(f"article[data-clear-draft='{reporting['key']}']")).to_have_count(1)
    page.wait_for_function(
        "key => localStorage.getItem('yishi:draft:' + key) === null", arg=reporting["key"]
    )
    assert page.evaluate(KEPT_PHOTOS, reporting["key"]) == [0, 0]
    expect(page.locator(".photos img")).to_have_count(1)
    page.wait_for_function("() => document.querySelector('.photos img').naturalWidth > 0")
    assert not scrolls_sideways(page), "the issue page scrolls sideways at 360 px"
    page.screenshot(path=screenshots / "issue-page-360.png", full_page=True)

    # The next report starts empty.
    page.goto(reporting["url"])
    for field in ("input[name=title]", "textarea[name=description]", "input[name=place]"):
        expect(form.locator(field)).to_have_value("")
    expect(form.locator("select[name=category]")).to_have_value("")
    expect(form.locator("input[name=latitude]")).to_have_value("")
    page.evaluate(KEPT_PHOTOS, reporting["key"])  # waits for the page's own read to finish
    assert photos.evaluate(CHOSEN_FILES) == []
    expect(form.locator("[data-draft-note]")).to_have_count(0)
    expect(photo_status).to_have_text("")
    assert tab.problems == []


def test_refused_report_keeps_what_was_typed_and_the_photo(reporting, open_tab, log_in, tmp_path):
    original = camera_photo(tmp_path / "IMG_0002.jpg", (3000, 4000), orientation=1)
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    form = page.locator("form[data-issue-form]")
    photo_status = form.locator("[data-photo-status]")

    form.locator("select[name=category]").select_option(str(reporting["category"].pk))
    form.locator("textarea[name=description]").fill("路灯不亮，晚上很黑。")
    form.locator("input[name=photos]").set_input_files(original)
    expect(photo_status).to_have_attribute("data-state", "ready")
    with page.expect_response(reporting["url"]) as answered:
        form.locator("button[type=submit]").click()
    assert answered.value.status == 422

    # The server says what is missing, and shows again what was sent.
    title = page.locator(".field.invalid", has=page.locator("input[name=title]"))
    expect(title.locator(".error")).to_be_visible()
    expect(title.locator(".error")).not_to_be_empty()
    expect(page.locator(".errors")).to_be_visible()
    expect(form.locator("textarea[name=description]")).to_have_value("路灯不亮，晚上很黑。")
    expect(form.locator("select[name=category]")).to_have_value(str(reporting["category"].pk))
    # The browser never sends a file back, so the shrunk photo comes from the draft.
    expect(photo_status).to_have_attribute("data-state", "restored")
    assert len(form.locator("input[name=photos]").evaluate(CHOSEN_FILES)) == 1
    assert not scrolls_sideways(page)

    form.locator("input[name=title]").fill("路灯坏了")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    issue = Issue.objects.get()
    assert (issue.title, issue.description) == ("路灯坏了", "路灯不亮，晚上很黑。")
    (photo,) = issue.photos.all()
    assert (photo.width, photo.height) == (1200, 1600)
    assert tab.console_errors == [] and tab.page_errors == []
    assert tab.failed_responses == [(422, reporting["url"])]


def test_failed_upload_keeps_the_draft(reporting, open_tab, log_in, tmp_path):
    original = camera_photo(tmp_path / "IMG_0003.jpg", (2400, 1800), orientation=1)
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    form = page.locator("form[data-issue-form]")
    form.locator("input[name=title]").fill("垃圾桶满了")
    form.locator("select[name=category]").select_option(str(reporting["category"].pk))
    form.locator("input[name=photos]").set_input_files(original)
    expect(form.locator("[data-photo-status]")).to_have_attribute("data-state", "ready")

    # The signal drops while the report is on its way.
    def drop(route) -> None:
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(reporting["url"], drop)
    with page.expect_event("requestfailed"):
        form.locator("button[type=submit]").click()
    page.unroute(reporting["url"])
    assert not Issue.objects.exists()

    page.goto(reporting["url"])
    expect(form.locator("input[name=title]")).to_have_value("垃圾桶满了")
    expect(form.locator("select[name=category]")).to_have_value(str(reporting["category"].pk))
    expect(form.locator("[data-photo-status]")).to_have_attribute("data-state", "restored")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    issue = Issue.objects.get()
    assert issue.title == "垃圾桶满了"
    assert issue.photos.count() == 1
    assert tab.problems == []


def test_more_than_six_photos_are_refused(reporting, open_tab, log_in, tmp_path):
    chosen = [camera_photo(tmp_path / f"small-{n}.jpg", (64, 48), orientation=1) for n in range(7)]
    tab = open_tab(PHONE_WIDTH, locale="en-US")  # and the texts come in English
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    form = page.locator("form[data-issue-form]")
    photos = form.locator("input[name=photos]")
    status = form.locator("[data-photo-status]")

    photos.set_input_files(chosen)
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_have_text("At most 6 photos, please. Choose again.")
    assert photos.evaluate(CHOSEN_FILES) == []

    # Six are fine; a picture already small is never made bigger.
    photos.set_input_files(chosen[:6])
    expect(status).to_have_attribute("data-state", "ready")
    sizes = [size for _, _, size in photos.evaluate(CHOSEN_FILES)]
    assert len(sizes) == 6
    expect(status).to_have_text(re.compile(r"^6 photos ready \(\d+ KB\)$"))
    assert all(size <= path.stat().st_size for size, path in zip(sizes, chosen, strict=False))
    assert tab.problems == []


def test_location_refused_or_unavailable(reporting, open_tab, log_in):
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_member")
    page.goto(reporting["url"])
    form = page.locator("form[data-issue-form]")
    locate = form.locator("button[data-locate]")
    status = form.locator("[data-locate-status]")

    # The permission is not granted: a clear message, and no coordinates.
    expect(locate).to_be_visible()
    locate.click()
    expect(status).to_have_attribute("data-state", "error")
    expect(status).not_to_be_empty()
    expect(locate).to_be_enabled()
    expect(form.locator("input[name=latitude]")).to_have_value("")

    # A browser that cannot locate at all never shows the button.
    page.add_init_script("delete Navigator.prototype.geolocation")
    page.reload()
    expect(form.locator("input[name=title]")).to_be_visible()
    expect(locate).to_be_hidden()
    assert tab.problems == []
