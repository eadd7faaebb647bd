"""The app's URLs plus the floor view of ``python -m bench.http`` (bench-only).

The floor is the least a Django page over the issues table can cost: no session, no
user, no scoping, no counts; one query for a 50-row keyset page (``ORDER BY created
DESC, id DESC LIMIT 50``, the inbox's order) rendered through a minimal template. A
page's requests per second against the floor's, in the same run, say how much of the
page's time is its own work rather than the machine, gunicorn and the clients.

The frame is the least a signed-in page of the app costs: the session, the user with
its unread count and the roles (three statements), and the page's frame (header,
navigation, footer) around nothing. A page against the frame says what its own content
costs.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import Template, engines
from django.urls import path

from deliberation.urls import urlpatterns as app_urlpatterns
from issues.models import Issue

FLOOR_PATH = "/bench/floor/"
FRAME_PATH = "/bench/frame/"
FLOOR_ROWS = 50


@cache
def _template() -> Template:
    return engines["django"].from_string(
        "<!doctype html><title>floor</title><table>"
        "{% for issue in issues %}<tr><td>{{ issue.id }}</td><td>{{ issue.title }}</td>"
        "<td>{{ issue.status }}</td><td>{{ issue.created|date:'Y-m-d H:i' }}</td></tr>"
        "{% endfor %}</table>"
    )


def floor(request: HttpRequest) -> HttpResponse:
    """One query: the newest 50 issues of the whole table, as the inbox orders them."""
    issues = Issue.objects.only("id", "title", "status", "created").order_by("-created", "-id")
    return HttpResponse(_template().render({"issues": list(issues[:FLOOR_ROWS])}))


@cache
def _frame_template() -> Template:
    return engines["django"].from_string(
        '{% extends "base.html" %}{% block title %}frame{% endblock %}{% block content %}'
        "{% endblock %}"
    )


@login_required
def frame(request: HttpRequest) -> HttpResponse:
    """A signed-in page of the app with nothing in it."""
    return HttpResponse(_frame_template().render({}, request))


urlpatterns = [
    path(FLOOR_PATH.strip("/") + "/", floor, name="bench_floor"),
    path(FRAME_PATH.strip("/") + "/", frame, name="bench_frame"),
    *app_urlpatterns,
]
