"""Two web processes that share nothing local, as two machines would.

Two real gunicorn processes, each with a YISHI_VAR_DIR of its own, a real Celery worker in
a third, the test database, and the object store (SeaweedFS) in common; with REDIS_URL set
(CI) the cache and the rate limits are in Redis too. A photo uploaded through one is shown
by the other, a period report the worker builds is downloaded through either, and a login
made on one holds on the other.

On the embedded default (no DATABASE_URL, no REDIS_URL) the processes share the SQLite file
of the test database (one machine's disk: the embedded default is a one-machine setup), so
the photo, report and session tests still show the files going through the store; the
rate limit needs the shared cache and runs only with REDIS_URL.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from django.urls import reverse

from issues.models import Photo
from public import views as public_views
from reports import period_reports
from reports.models import PeriodReport
from tests import factories
from tests.helpers import object_store as helper
from tests.helpers.photos import jpeg

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A person's browser against one web process: cookies, CSRF, multipart posts."""

    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None) -> None:
        self.base = base
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def on(self, base: str) -> Browser:
        """The same browser (its cookies) talking to another web process."""
        return Browser(base, self.jar)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def post(self, path: str, fields: dict, files: dict | None = None) -> tuple[int, bytes]:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, (filename, data, content_type) in (files or {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            self.base + path, data=body, method="POST",
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Referer": self.base + path,
            },
        )  # fmt: skip
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def csrf(self, path: str) -> str:
        status, body = self.get(path)
        assert status == 200, (path, status)
        return CSRF.search(body.decode())[1]

    def log_in(self, username: str) -> None:
        token = self.csrf("/accounts/login/")
        status, body = self.post(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": factories.PASSWORD},
        )
        assert status == 200 and b'name="password"' not in body, body[:500]


@pytest.fixture
def web(celery_processes, object_store, tmp_path):
    """Starts web processes (gunicorn) on the test database and a fresh bucket of the store."""
    bucket = object_store.new_bucket()
    store_env = object_store.environment(bucket)
    started: list[str] = []

    def start(name: str) -> str:
        (port,) = helper.free_ports(1)
        var_dir = tmp_path / f"var-{name}"  # nothing local in common with the other
        var_dir.mkdir()
        argv = [
            sys.executable, "-m", "gunicorn", "deliberation.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2",
            "--timeout", "120",
        ]  # fmt: skip
        process = celery_processes._start(
            name, argv, {**store_env, "YISHI_VAR_DIR": str(var_dir), "MEDIA_ROOT": str(var_dir)}
        )
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                with urllib.request.urlopen(base + "/health/", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        celery_processes.wait_for(answers, seconds=90, what=f"{name} to answer")
        assert process.running()
        started.append(base)
        return base

    start.env = store_env  # type: ignore[attr-defined]
    start.bucket = bucket  # type: ignore[attr-defined]
    return start


def test_a_photo_a_report_and_a_login_hold_across_two_web_processes_and_a_worker(
    web, celery_processes, object_store, manan, manan_staff, nanen_admin
):
    one, two = web("web-one"), web("web-two")
    worker = celery_processes.worker(**web.env)
    issue = factories.issue(manan, actor=manan_staff, title="三栋电梯停运")

    # Logged in on one; the same cookie is a session on the other.
    staff_one = Browser(one)
    staff_one.log_in(manan_staff.username)
    staff_two = staff_one.on(two)
    detail = reverse("issues:detail", args=[issue.pk])
    status, page = staff_two.get(detail)
    assert status == 200 and "三栋电梯停运" in page.decode()

    # A photo uploaded through one is shown by the other.
    photo_bytes = jpeg(name="lift.jpg").read()
    token = CSRF.search(page.decode())[1]
    status, _body = staff_one.post(
        reverse("issues:add_photos", args=[issue.pk]),
        {"csrfmiddlewaretoken": token},
        {"photos": ("lift.jpg", photo_bytes, "image/jpeg")},
    )
    assert status == 200, _body[:500]
    photo = Photo.objects.get(issue=issue)
    assert object_store.keys(web.bucket) == [photo.image.name]
    url = reverse("issues:photo", args=[issue.pk, photo.pk])
    status, page = staff_two.get(detail)
    assert url in page.decode()
    status, shown = staff_two.get(url)
    assert status == 200 and shown[:2] == b"\xff\xd8"
    _status, anonymous = Browser(two).get(url)  # no session: sent to log in, no photo
    assert not anonymous.startswith(b"\xff\xd8") and b'name="password"' in anonymous

    # A period report built by the worker in a third process, downloaded through either.
    celery_processes.wait_ready(worker)
    admin_one = Browser(one)
    admin_one.log_in(nanen_admin.username)
    token = CSRF.search(admin_one.get(detail)[1].decode())[1]
    year = period_reports.timezone.localdate().year
    status, _body = admin_one.post(
        reverse("reports:street_report", args=[manan.street_id]),
        {"csrfmiddlewaretoken": token, "kind": "year", "year": str(year), "quarter": ""},
    )
    assert status in (200, 302), _body[:500]
    celery_processes.wait_for(
        lambda: PeriodReport.objects.filter(state=PeriodReport.State.DONE).exists(),
        seconds=120,
        what="the worker to build the report",
    )
    report = PeriodReport.objects.get()
    assert report.file.name in object_store.keys(web.bucket)
    download = reverse("reports:report_download", args=[report.pk])
    got = [admin_one.on(base).get(download) for base in (one, two)]
    assert [status for status, _ in got] == [200, 200]
    assert got[0][1] == got[1][1] and got[0][1].startswith(b"%PDF")


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="the embedded default keeps its cache, and so its rate limits, on one machine's "
    "disk (YISHI_VAR_DIR): a limit held across machines needs REDIS_URL",
)
def test_a_rate_limit_counts_requests_to_both_web_processes(web, manan):
    from django.core.cache import cache

    # Lookups earlier tests made from this machine's address count in the shared cache too.
    cache.clear()
    one, two = web("web-one"), web("web-two")
    issue = factories.issue(manan)
    track = reverse("public:track_issue", args=[issue.tracking_code])
    for number in range(public_views.LOOKUPS_PER_HOUR):
        base = one if number % 2 else two
        assert Browser(base).get("/t/ZZZZZZZZ/")[0] == 404
    for base in (one, two):
        status, body = Browser(base).get(track)
        assert status == 429 and issue.title not in body.decode()
