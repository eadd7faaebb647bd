"""A refused request (403) is logged as one line with user, path and reason, no traceback."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.test import Client, RequestFactory
from django.urls import reverse

from tests import factories


def refusals(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_refused_page_is_one_line_with_user_path_and_reason(db, caplog):
    nobody = factories.user("nobody")
    client = Client()
    client.force_login(nobody)
    caplog.set_level(logging.WARNING, logger="django.request")

    assert client.get(reverse("home")).status_code == 403

    (record,) = refusals(caplog)
    line = record.getMessage()
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
    assert "\n" not in line
    assert f"user={nobody.pk}/nobody" in line
    assert f"path={reverse('home')}" in line
    assert "reason=refused by home" in line


def test_the_reason_is_the_refusals_message(db, caplog):
    request = RequestFactory().get("/issues/7/")
    request.user = factories.user("somebody")
    caplog.set_level(logging.WARNING, logger="django.request")

    response = response_for_exception(request, PermissionDenied("not in your community"))

    assert response.status_code == 403
    (record,) = refusals(caplog)
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
    assert record.getMessage() == (
        f"Permission denied: user={request.user.pk}/somebody path=/issues/7/ "
        "reason=not in your community"
    )


def test_an_anonymous_refusal_names_no_user(db, caplog):
    request = RequestFactory().get("/somewhere/")
    caplog.set_level(logging.WARNING, logger="django.request")

    response_for_exception(request, PermissionDenied())

    (record,) = refusals(caplog)
    line = record.getMessage()
    assert line == "Permission denied: user=anonymous path=/somewhere/ reason=refused"


def test_other_errors_keep_their_traceback(db, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("django.request").error("Internal Server Error", exc_info=True)

    (record,) = refusals(caplog)
    assert record.exc_info is not None
