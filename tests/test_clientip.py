"""The client's address behind a reverse proxy, and request bodies over the size cap.

Every limit (the login lockout, the public form's reports an hour, the lookups an
hour) counts per client address. Behind the reverse proxy that address must come
from the proxy's X-Forwarded-For, and only from a proxy the settings trust.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from common import throttle
from common.clientip import client_ip
from public import views as public_views
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("clear_cache")

PROXIES = "127.0.0.1/32,172.16.0.0/12"


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        # Nobody trusted (the default): the header is never read.
        ("", "172.18.0.5", "203.0.113.9", "172.18.0.5"),
        # Sent directly by a client: a spoofed header is ignored.
        (PROXIES, "198.51.100.7", "203.0.113.9", "198.51.100.7"),
        # Through the proxy: the address the proxy wrote.
        (PROXIES, "172.18.0.5", "203.0.113.9", "203.0.113.9"),
        # A client writing its own header before the proxy appends: the right-most counts.
        (PROXIES, "172.18.0.5", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # Two trusted hops: the right-most address that is not a proxy.
        (PROXIES, "127.0.0.1", "203.0.113.9, 172.18.0.5", "203.0.113.9"),
        # A trusted proxy that sent no header: the proxy itself.
        (PROXIES, "172.18.0.5", None, "172.18.0.5"),
        # Garbage where an address must be: no further than the last trusted hop.
        (PROXIES, "172.18.0.5", "203.0.113.9, nonsense", "172.18.0.5"),
        # Ports and IPv4-mapped IPv6 are read as the address.
        (PROXIES, "::ffff:172.18.0.5", "203.0.113.9:5123", "203.0.113.9"),
        (PROXIES, "172.18.0.5", "[2001:db8::1]:443", "2001:db8::1"),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, client):
    settings.YISHI_TRUSTED_PROXIES = trusted
    assert client_ip(request_from(remote, forwarded)) == client


def test_throttles_count_the_forwarded_client(settings):
    settings.YISHI_TRUSTED_PROXIES = PROXIES
    one = request_from("172.18.0.5", "2001:db8:1:2::1")
    two = request_from("172.18.0.5", "2001:db8:1:3::1")
    assert throttle.client_ip(one) == "2001:db8:1:2::/64"
    assert throttle.client_ip(one) != throttle.client_ip(two)


def login(client: Client, password: str, forwarded: str):
    return client.post(
        reverse("login"),
        {"username": "manan_staff", "password": password},
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_lockout_behind_the_proxy_locks_one_resident_only(manan_staff, settings):
    settings.YISHI_TRUSTED_PROXIES = PROXIES
    proxy = Client(REMOTE_ADDR="172.18.0.5")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(proxy, "wrong", "203.0.113.9")
    assert login(proxy, PASSWORD, "203.0.113.9").status_code == 429
    # Another resident coming through the same proxy is not locked out.
    assert login(Client(REMOTE_ADDR="172.18.0.5"), PASSWORD, "203.0.113.10").status_code == 302


def test_a_spoofed_header_sent_directly_does_not_dodge_the_lockout(manan_staff, settings):
    settings.YISHI_TRUSTED_PROXIES = PROXIES
    direct = Client(REMOTE_ADDR="198.51.100.7")
    for number in range(settings.AXES_FAILURE_LIMIT):
        login(direct, "wrong", f"203.0.113.{number}")
    assert login(direct, PASSWORD, "203.0.113.99").status_code == 429


# --- Bodies over the cap -------------------------------------------------------------------


def raw_post(live_server, path: str, length: int) -> tuple[bytes, float]:
    """Send only the headers of a POST whose body would be ``length`` bytes."""
    host, port = live_server.thread.host, live_server.thread.port
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {length}\r\nAccept-Language: zh-hans\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"</html>" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_a_200_mb_body_is_refused_before_it_is_sent(live_server, manan):
    path = reverse("public:report", args=[public_views.public_form_token(manan)])
    answer, seconds = raw_post(live_server, path, 200 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413")
    assert seconds < 3  # the server never waited for the body
    assert "照片" in answer.decode()  # a translated page says what to do


def test_oversized_reports_count_toward_the_hourly_limit(client, manan, settings):
    settings.YISHI_MAX_REQUEST_BYTES = 1000
    path = reverse("public:report", args=[public_views.public_form_token(manan)])
    for _ in range(public_views.REPORTS_PER_HOUR):
        response = client.post(path, {"title": "x" * 2000})
        assert response.status_code == 413
    assert not throttle.hit(f"report:{throttle.client_ip(response.wsgi_request)}", 5, 3600)


def test_a_body_under_the_cap_is_read(client, manan):
    path = reverse("public:report", args=[public_views.public_form_token(manan)])
    assert client.post(path, {"title": "x"}).status_code == 422


# --- Behind a real proxy hop -----------------------------------------------------------------

PROXY_SOURCE = "127.0.0.2"  # the address the proxy process connects to the app from


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def proxy_port(live_server):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.forwarding_proxy",
         str(port), str(live_server.thread.port), PROXY_SOURCE],
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the proxy did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


class Browser:
    """One resident's connections, all from one loopback address, keeping cookies."""

    def __init__(self, port: int, source: str, spoofed: str | None = None) -> None:
        self.port, self.source, self.spoofed, self.cookies = port, source, spoofed, {}

    def request(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, source_address=(self.source, 0), timeout=30
        )
        headers = {"Host": "localhost"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.spoofed:
            headers["X-Forwarded-For"] = self.spoofed
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";")[0]
        conn.close()
        return response

    def log_in(self, password: str) -> int:
        self.request("GET", reverse("login"))
        form = {
            "username": "manan_staff",
            "password": password,
            "csrfmiddlewaretoken": self.cookies["csrftoken"],
        }
        return self.request("POST", reverse("login"), form).status


@pytest.mark.django_db(transaction=True)
def test_behind_a_real_proxy_five_wrong_passwords_lock_that_resident_only(
    live_server, proxy_port, manan_staff, settings
):
    settings.YISHI_TRUSTED_PROXIES = f"{PROXY_SOURCE}/32"
    settings.ALLOWED_HOSTS = ["localhost"]
    neighbour = Browser(proxy_port, "127.0.0.5")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        neighbour.log_in("wrong")
    assert neighbour.log_in(PASSWORD) == 429
    # Another resident through the same proxy logs in.
    assert Browser(proxy_port, "127.0.0.6").log_in(PASSWORD) == 302


@pytest.mark.django_db(transaction=True)
def test_a_spoofed_header_sent_straight_to_the_app_is_ignored(live_server, manan_staff, settings):
    settings.YISHI_TRUSTED_PROXIES = f"{PROXY_SOURCE}/32"
    settings.ALLOWED_HOSTS = ["localhost"]
    direct = live_server.thread.port
    for number in range(settings.AXES_FAILURE_LIMIT):
        Browser(direct, "127.0.0.7", spoofed=f"203.0.113.{number}").log_in("wrong")
    assert Browser(direct, "127.0.0.7", spoofed="203.0.113.99").log_in(PASSWORD) == 429


def test_a_login_without_an_address_is_logged_by_axes_without_one(django_user_model):
    """An in-process login (no REMOTE_ADDR) must not put "unknown" in axes' IP column,
    which PostgreSQL refuses."""
    from axes.models import AccessLog
    from django.test import Client

    user = django_user_model.objects.create_user("no_address", password="x" * 12)
    client = Client(REMOTE_ADDR="")
    client.force_login(user)
    assert AccessLog.objects.get(username="no_address").ip_address is None
