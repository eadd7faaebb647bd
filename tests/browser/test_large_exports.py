"""A large inbox export in a browser, on a phone: the click lands on the export's page, which
follows the worker's progress by itself and turns into a download link.

The worker is a real Celery worker (``tests.processes``), started only once the page shows
the export waiting. New strings may not be translated yet: the tests look at structure.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from issues.models import Issue
from members.models import ExportRecord
from tests import factories
from tests.browser.conftest import PHONE_WIDTH, scrolls_sideways

pytestmark = pytest.mark.browser


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_large_export_is_prepared_by_the_worker_while_its_page_watches(
    transactional_db, manan, manan_staff, media, settings, open_tab, log_in, live_server,
    artefacts, celery_processes,
):  # fmt: skip
    settings.YISHI_EXPORT_INLINE_ROWS = 5
    category = factories.category(manan.street)
    Issue.objects.bulk_create(
        Issue(community=manan, title=f"事项{n}", category=category, tracking_code=f"B{n:07d}")
        for n in range(12)
    )
    shots = artefacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    tab = open_tab(PHONE_WIDTH)
    page = tab.page
    log_in(page, "manan_staff")
    page.goto(live_server.url + reverse("issues:inbox"))
    page.locator(".exports a", has_text=re.compile("CSV")).first.click()

    # No worker yet: the export's page says it is being prepared and asks again by itself.
    page.wait_for_url(re.compile(r"/issues/exports/\d+/$"))
    job = ExportRecord.objects.get()
    assert urlsplit(page.url).path == reverse("issues:export_job", args=[job.pk])
    card = page.locator("#export-job")
    expect(page.locator(".message, #export-job [role=status]").first).to_be_visible()
    expect(card.locator("a.button")).to_have_count(0)
    with page.expect_response(lambda r: urlsplit(r.url).path == urlsplit(page.url).path) as polled:
        pass
    assert polled.value.status == 200
    assert not scrolls_sideways(page)
    page.screenshot(path=shots / "export-waiting-360.png", full_page=True)

    worker = celery_processes.worker("worker", MEDIA_ROOT=str(media))
    celery_processes.wait_ready(worker)
    download = card.locator("a.button")
    expect(download).to_be_visible(timeout=90_000)
    expect(download).to_have_attribute("href", reverse("issues:export_download", args=[job.pk]))
    box = download.bounding_box()
    assert box and box["height"] >= 44
    assert not scrolls_sideways(page)
    page.screenshot(path=shots / "export-ready-360.png", full_page=True)
    job.refresh_from_db()
    assert (job.status, job.rows) == ("done", 12)
