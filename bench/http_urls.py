"""The app's URLs plus the floor view of ``python -m bench.http`` (bench-only).

The floor is the least a Django page over the issues table can cost: no session, no
user, no scoping, no counts; one query for a 50-row keyset page (``ORDER BY created
DESC, id DESC LIMIT 50``, the inbox's order) rendered through a minimal template. A
page's requests per second against the floor's, in the same run, say how much of the
page's time is its own work rather than the machine, gunicorn and the clients.
"""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest, HttpResponse
from django.template import Template, engines
from django.urls import path

from deliberation.urls import urlpatterns as app_urlpatterns
from issues.models import Issue

FLOOR_PATH = "/bench/floor/"
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


urlpatterns = [path(FLOOR_PATH.strip("/") + "/", floor, name="bench_floor"), *app_urlpatterns]
