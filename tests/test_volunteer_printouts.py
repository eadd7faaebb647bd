"""A volunteer's statement and certificate of a year: counted by the day of the service,
from aggregated queries, made once per state of the ledger and kept in the cache."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers import volunteers as build
from tests.helpers.clock import local
from volunteers import printouts, statement
from volunteers.actions import activities, ledger
from volunteers.models import HoursEntry, Volunteer

pytestmark = pytest.mark.usefixtures("clear_cache")  # PDFs of this test's own


@pytest.fixture
def fireflies(manan, manan_staff):
    return build.team(manan, manan_staff)


@pytest.fixture
def bees(manan, manan_staff):
    return build.team(manan, manan_staff, name="小蜜蜂")


@pytest.fixture
def li(fireflies, manan_staff) -> Volunteer:
    return build.volunteer(fireflies, manan_staff, "李秀英", account="li_volunteer", leader=True)


@pytest.fixture
def zhao(fireflies, manan_staff) -> Volunteer:
    return build.volunteer(fireflies, manan_staff, "赵桂兰", account="zhao_volunteer")


def serve(team, volunteer, staff, clock, *, day: dt.date, minutes: int, confirmed=None):
    """An activity of ``team`` at 09:00 on ``day``, served ``minutes`` and confirmed (at 12:00
    that day, or at ``confirmed``)."""
    starts = local(day.year, day.month, day.day, 9)
    clock.move_to(starts - dt.timedelta(hours=1))
    activity = build.activity(team, staff, starts=starts, hours=3)
    attendance = activities.activity_sign_up(activity=activity, volunteer=volunteer, actor=staff)
    activities.attendance_sign_in(attendance=attendance, actor=staff, at=starts)
    out = starts + dt.timedelta(minutes=minutes)
    activities.attendance_sign_out(attendance=attendance, actor=staff, at=out)
    clock.move_to(confirmed or starts + dt.timedelta(hours=3))
    return activities.attendance_confirm(attendance=attendance, actor=staff)


def pdf_text(response) -> str:
    from pypdf import PdfReader

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "")


def printed(client, django_capture_on_commit_callbacks, url: str, year: int):
    """The PDF as the browser gets it: the waiting page first, made by the worker meanwhile."""
    with django_capture_on_commit_callbacks(execute=True):
        first = client.get(url, {"year": str(year)})
    if first.status_code == 202:
        return client.get(url, {"year": str(year)})
    return first


# --- The day of the service -----------------------------------------------------------------


def test_a_credit_confirmed_after_new_year_counts_on_the_day_of_the_service(
    clock, manan_staff, fireflies, li
):
    serve(fireflies, li, manan_staff, clock, day=dt.date(2025, 12, 31), minutes=90,
          confirmed=local(2026, 1, 2, 10))  # fmt: skip
    clock.move_to(local(2026, 1, 2, 11))
    correction = ledger.correction_record(volunteer=li, minutes=-10, actor=manan_staff,
                                          note="多记了")  # fmt: skip
    credit = HoursEntry.objects.get(kind=HoursEntry.Kind.CREDIT)
    assert credit.served_on == dt.date(2025, 12, 31)
    assert credit.created.date() == dt.date(2026, 1, 2)
    assert correction.served_on == dt.date(2026, 1, 2)
    assert statement.certificate_of(li, 2025).minutes == 90
    assert statement.certificate_of(li, 2026).minutes == 0  # −10 does not go below nothing
    last_year = statement.statement_of(li, 2025)
    assert (last_year.brought_forward, last_year.credited, last_year.carried_forward) == (0, 90, 90)
    this_year = statement.statement_of(li, 2026)
    assert (this_year.brought_forward, this_year.corrected, this_year.carried_forward) == (
        90, -10, 80,
    )  # fmt: skip


# --- The certificate ------------------------------------------------------------------------


def test_the_certificate_gives_the_years_hours_activities_and_teams_as_counted_by_hand(
    as_user, clock, django_capture_on_commit_callbacks, manan, manan_staff, fireflies, bees, li
):
    from volunteers.actions import teams

    teams.team_add_member(team=bees, resident=li.resident, actor=manan_staff)
    serve(fireflies, li, manan_staff, clock, day=dt.date(2025, 6, 3), minutes=120)  # last year
    serve(fireflies, li, manan_staff, clock, day=dt.date(2026, 3, 4), minutes=90)
    serve(fireflies, li, manan_staff, clock, day=dt.date(2026, 5, 6), minutes=45)
    serve(bees, li, manan_staff, clock, day=dt.date(2026, 7, 8), minutes=150)
    ledger.exchange_make(
        volunteer=li, rule=build.class_rule(manan, manan_staff), actor=manan_staff
    )  # fmt: skip  (spending is not un-serving)
    clock.move_to(local(2026, 11, 18, 10))

    # The years to print: from the first day of service on, for the volunteer and the staff.
    mine = as_user(li.user).get(reverse("volunteers:mine")).content.decode()
    theirs = as_user(manan_staff).get(reverse("volunteers:volunteer", args=[li.pk])).content
    staff_url = reverse("volunteers:certificate_pdf", args=[li.pk])
    for page, url in ((mine, reverse("volunteers:my_certificate")),
                      (theirs.decode(), staff_url)):  # fmt: skip
        assert f"{url}?year=2026" in page and f"{url}?year=2025" in page
        assert f"{url}?year=2024" not in page and "2025 年证明（PDF）" in page

    certificate = statement.certificate_of(li, 2026)
    # 90 + 45 in 萤火虫, 150 in 小蜜蜂: 285 minutes = 4 h 45 min in 3 activities.
    assert [(t.name, t.activities, t.minutes) for t in certificate.teams] == [
        ("小蜜蜂", 1, 150), ("萤火虫", 2, 135),
    ]  # fmt: skip
    assert (certificate.minutes, certificate.activities) == (285, 3)

    text = pdf_text(printed(as_user(li.user), django_capture_on_commit_callbacks,
                            reverse("volunteers:my_certificate"), 2026))  # fmt: skip
    assert "志愿服务证明" in text and "李秀英" in text and "马南社区" in text
    assert "4小时45分钟" in text and "小蜜蜂" in text and "萤火虫" in text
    assert "社区（盖章）" in text
    staff = printed(as_user(manan_staff), django_capture_on_commit_callbacks,
                    reverse("volunteers:certificate_pdf", args=[li.pk]), 2025)  # fmt: skip
    assert "2小时" in pdf_text(staff) and "2025" in pdf_text(staff)


@pytest.mark.outsider("volunteers:certificate_pdf", "volunteers:my_certificate")
def test_another_community_and_another_volunteer_get_404_for_a_certificate(
    as_user, clock, manan_staff, fireflies, li, zhao, xingfu_staff, other_admin
):
    serve(fireflies, li, manan_staff, clock, day=dt.date(2026, 3, 4), minutes=90)
    url = reverse("volunteers:certificate_pdf", args=[li.pk])
    for outsider in (xingfu_staff, other_admin, zhao.user, li.user):
        assert as_user(outsider).get(url, {"year": "2026"}).status_code == 404
    # An account that is no volunteer has no certificate of its own.
    assert as_user(xingfu_staff).get(reverse("volunteers:my_certificate")).status_code == 404


# --- Made once, kept in the cache -------------------------------------------------------


def test_the_pdf_is_made_by_the_worker_once_and_remade_when_the_ledger_moves(
    as_user, clock, django_capture_on_commit_callbacks, monkeypatch, manan, manan_staff,
    fireflies, li,
):  # fmt: skip
    serve(fireflies, li, manan_staff, clock, day=dt.date(2026, 3, 4), minutes=90)
    clock.move_to(local(2026, 11, 18, 10))
    made = []
    real = printouts.render
    monkeypatch.setattr(printouts, "render", lambda *a: made.append(a) or real(*a))
    client = as_user(li.user)
    url = reverse("volunteers:my_statement")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        waiting = client.get(url, {"year": "2026"})
        again = client.get(url, {"year": "2026"})
    # Not made in the request: a page that asks again, and one task for both requests.
    assert waiting.status_code == again.status_code == 202
    assert 'http-equiv="refresh"' in waiting.content.decode()
    assert "正在生成" in waiting.content.decode()
    assert len(callbacks) == 1 and made == []
    callbacks[0]()
    callbacks[0]()  # run twice: made once
    assert len(made) == 1
    assert "1小时30分钟" in pdf_text(client.get(url, {"year": "2026"}))
    assert len(made) == 1
    # A new row of the ledger: the next request makes a new PDF.
    ledger.exchange_make(volunteer=li, rule=build.class_rule(manan, manan_staff),
                         actor=manan_staff)  # fmt: skip
    text = pdf_text(printed(client, django_capture_on_commit_callbacks, url, 2026))
    assert "老年学校课程1.5小时" in text and len(made) == 2


def test_the_statement_and_balance_cost_the_same_queries_for_a_long_history(
    as_user, clock, django_capture_on_commit_callbacks, manan, manan_staff, fireflies, li
):
    def counts() -> tuple[int, int, int]:
        client = as_user(li.user)
        numbers = []
        for url in (reverse("volunteers:mine"), reverse("volunteers:my_statement")):
            printed(client, django_capture_on_commit_callbacks, url, 2026)  # made, cached
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url, {"year": "2026"}).status_code == 200
            numbers.append(len(queries))
        with CaptureQueriesContext(connection) as queries:
            statement.statement_of(li, 2026)
        return (*numbers, len(queries))

    serve(fireflies, li, manan_staff, clock, day=dt.date(2026, 1, 5), minutes=60)
    few = counts()
    for day in range(2, 26):
        serve(fireflies, li, manan_staff, clock, day=dt.date(2026, 2, day), minutes=60)
    ledger.exchange_make(volunteer=li, rule=build.class_rule(manan, manan_staff),
                         actor=manan_staff)  # fmt: skip
    clock.move_to(local(2026, 11, 18, 10))
    assert counts() == few
    assert few[2] == 3  # brought forward, service by month and team, the other rows
