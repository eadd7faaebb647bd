"""With Redis stopped, residents' reports are still stored and their pages still answer.

The throttles fail open (one warning line per failed call), a drawn form is held to one
report by its one-time key in the database (``members.Submission``, the one guard every
form that creates shares), and the readiness view names what is
down while the liveness view stays 200.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from issues.models import Issue
from members.models import Submission
from public import forms as public_forms
from public import views as public_views
from tests import factories

STAMP = re.compile(r'name="rendered" value="([^"]+)"')
# Nothing listens here: a Redis that is stopped.
DEAD_REDIS = "redis://127.0.0.1:6390/0"


@pytest.fixture(autouse=True)
def no_minimum_age(monkeypatch):
    monkeypatch.setattr(public_forms, "MIN_FORM_AGE_SECONDS", 0)


def redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


@pytest.fixture
def redis_down(settings):
    settings.CACHES = redis_cache(DEAD_REDIS)
    settings.CELERY_BROKER_URL = DEAD_REDIS
    return settings


@pytest.fixture
def own_redis(settings):
    """A redis-server of this test's own, on a free port; ``stop()`` shuts it down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--daemonize",
            "yes",
        ],
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while (
        subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip()
        != b"PONG"
    ):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = redis_cache(url)
    settings.CELERY_BROKER_URL = url

    class Server:
        running = True

        def stop(self) -> None:
            subprocess.run(
                ["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True
            )
            self.running = False

    server = Server()
    yield server
    if server.running:
        server.stop()


@pytest.fixture
def form_url(manan):
    return reverse("public:report", args=[public_views.public_form_token(manan)])


def draw(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return STAMP.search(response.content.decode())[1]


def send(client: Client, url: str, community, *, rendered: str | None = None):
    data = {
        "title": "楼道堆放杂物",
        "category": factories.category(community.street, "environment").pk,
        "description": "三栋二单元楼道堆满纸箱，挡住了消防通道。",
        "place": "3栋2单元",
        "contact_name": "李阿姨",
        "contact_phone": "",
        "homepage": "",
        "rendered": rendered or draw(client, url),
    }
    return client.post(url, data)


def assert_reported_and_trackable(client: Client, response, count: int) -> Issue:
    assert response.status_code == 302
    assert Issue.objects.count() == count
    issue = Issue.objects.latest("pk")
    assert response["Location"] == reverse("public:reported", args=[issue.tracking_code])
    assert client.get(response["Location"]).status_code == 200
    tracked = client.get(reverse("public:track_issue", args=[issue.tracking_code]))
    assert tracked.status_code == 200
    assert issue.title in tracked.content.decode()
    return issue


def readiness(client: Client) -> tuple[int, dict]:
    response = client.get(reverse("health_ready"))
    return response.status_code, json.loads(response.content)


# --- A Redis that is stopped ----------------------------------------------------------------


def test_a_report_sent_while_redis_is_down_is_stored_and_its_pages_answer(
    client, manan, form_url, redis_down, caplog
):
    with caplog.at_level(logging.WARNING, logger="common.throttle"):
        response = send(client, form_url, manan)
    assert_reported_and_trackable(client, response, 1)
    warnings = [r for r in caplog.records if r.name == "common.throttle"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert all("\n" not in r.getMessage() for r in warnings)


def test_a_double_tap_while_redis_is_down_stores_the_report_once(
    client, manan, form_url, redis_down
):
    stamp = draw(client, form_url)
    first = send(client, form_url, manan, rendered=stamp)
    second = send(client, form_url, manan, rendered=stamp)
    assert Issue.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Submission.objects.get().result_url == first["Location"]


def test_the_tracking_form_answers_while_redis_is_down(client, manan, form_url, redis_down):
    send(client, form_url, manan)
    code = Issue.objects.get().tracking_code
    assert client.get(reverse("public:track")).status_code == 200
    looked_up = client.get(reverse("public:track"), {"code": code})
    assert looked_up.status_code in (200, 302)


def test_readiness_names_the_cache_and_broker_down_while_liveness_stays_up(client, db, redis_down):
    assert client.get(reverse("health")).status_code == 200
    status, body = readiness(client)
    assert status == 503
    assert body == {"database": "ok", "cache": "down", "broker": "down"}


def test_readiness_is_200_with_everything_up(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):  # SELECT 1
        status, body = readiness(client)
    assert status == 200
    assert body == {"database": "ok", "cache": "ok", "broker": "ok"}


# --- A real Redis, stopped between two reports ----------------------------------------------


def test_reports_are_stored_before_and_after_redis_stops(client, manan, form_url, own_redis):
    assert readiness(client) == (200, {"database": "ok", "cache": "ok", "broker": "ok"})
    assert_reported_and_trackable(client, send(client, form_url, manan), 1)
    stamp = draw(client, form_url)  # drawn while Redis still runs

    own_redis.stop()

    after = send(client, form_url, manan, rendered=stamp)
    assert_reported_and_trackable(client, after, 2)
    assert_reported_and_trackable(client, send(client, form_url, manan), 3)
    assert client.get(reverse("health")).status_code == 200
    assert readiness(client) == (503, {"database": "ok", "cache": "down", "broker": "down"})


def test_the_public_forms_key_is_kept_where_every_creating_forms_key_is(
    client, manan, form_url, redis_down
):
    from django.apps import apps

    response = send(client, form_url, manan)
    (key,) = Submission.objects.all()
    assert key.user is None and key.result_url == response["Location"]
    assert list(apps.get_app_config("public").get_models()) == []  # no second claims table


def test_a_report_costs_no_more_queries_while_the_cache_is_down(
    client, manan, form_url, settings, tmp_path
):
    def queries_of_one_report() -> int:
        stamp = draw(client, form_url)
        with CaptureQueriesContext(connection) as captured:
            assert send(client, form_url, manan, rendered=stamp).status_code == 302
        return len(captured)

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    factories.category(manan.street, "environment")
    with_cache = queries_of_one_report()
    settings.CACHES = redis_cache(DEAD_REDIS)
    # The one-time key in the database is written either way: nothing is added for it.
    assert queries_of_one_report() == with_cache
