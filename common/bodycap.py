"""Refusing request bodies larger than the cap before a byte of them is read.

``YISHI_MAX_REQUEST_BYTES`` (settings, 20 MB by default, the same as the reverse
proxy's ``client_max_body_size``) is the largest body the app accepts. A request
whose declared Content-Length is larger gets a 413 page at once: the body is never
read, so a 200 MB upload costs neither the time nor the disk to receive it.

A view may ask for such refusals to count toward a rate limit of its own with
``counts_refusals_toward``: a client sending oversized bodies again and again
then runs into the same limit as one sending many reports.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from common import throttle

REFUSAL_COUNTER = "oversize_refusals_count_toward"


def counts_refusals_toward(key_prefix: str, limit: int, window_seconds: int) -> Callable:
    """Mark a view: oversized bodies sent to it count as hits on ``key_prefix:<client>``."""

    def mark(view: Callable) -> Callable:
        setattr(view, REFUSAL_COUNTER, (key_prefix, limit, window_seconds))
        return view

    return mark


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestSizeCapMiddleware:
    """Answers 413 to a body declared larger than ``YISHI_MAX_REQUEST_BYTES``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cap = settings.YISHI_MAX_REQUEST_BYTES
        if declared_length(request) <= cap:
            return self.get_response(request)
        self.count_refusal(request)
        response = render(
            request,
            "413.html",
            {"cap_megabytes": cap // (1024 * 1024)},
            status=413,
        )
        return response

    @staticmethod
    def count_refusal(request: HttpRequest) -> None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return
        counter = getattr(match.func, REFUSAL_COUNTER, None)
        if counter is not None:
            key_prefix, limit, window_seconds = counter
            throttle.hit(f"{key_prefix}:{throttle.client_ip(request)}", limit, window_seconds)
