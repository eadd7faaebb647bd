"""Volunteer teams, activities and the service-hours ledger (志愿服务)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Role
from tests.helpers import volunteers as build
from tests.helpers.clock import local
from volunteers import codes
from volunteers.actions import activities, ledger
from volunteers.models import Activity, Attendance, Balance, Exchange, HoursEntry, Volunteer
from volunteers.refusals import VolunteerRefusal


@pytest.fixture
def fireflies(manan, manan_staff):
    return build.team(manan, manan_staff)


@pytest.fixture
def li(fireflies, manan_staff) -> Volunteer:
    """李秀英 leads 萤火虫 and has an account of her own (no council seat)."""
    return build.volunteer(fireflies, manan_staff, "李秀英", account="li_volunteer", leader=True)


@pytest.fixture
def zhao(fireflies, manan_staff) -> Volunteer:
    return build.volunteer(fireflies, manan_staff, "赵桂兰", account="zhao_volunteer")


@pytest.fixture
def patrol(fireflies, manan_staff) -> Activity:
    return build.activity(fireflies, manan_staff)  # 09:00–11:00 on 18 November


def balance(volunteer: Volunteer) -> int:
    return Balance.objects.get(volunteer=volunteer).minutes


def ledger_sum(volunteer: Volunteer) -> int:
    return sum(HoursEntry.objects.filter(volunteer=volunteer).values_list("minutes", flat=True))


# --- The ledger's arithmetic, counted by hand ------------------------------------------


def test_credits_exchanges_and_corrections_add_up_as_counted_by_hand(
    manan, manan_staff, patrol, li, zhao
):
    # 李: in 08:50, out 11:30 → 160 minutes present, capped at the activity's 120.
    build.served(patrol, li, manan_staff, in_at=local(2026, 11, 18, 8, 50),
                 out_at=local(2026, 11, 18, 11, 30))  # fmt: skip
    # 赵: in 09:15, out 10:05 → 50 minutes.
    build.served(patrol, zhao, manan_staff, in_at=local(2026, 11, 18, 9, 15),
                 out_at=local(2026, 11, 18, 10, 5))  # fmt: skip
    assert (balance(li), balance(zhao)) == (120, 50)

    rule = build.class_rule(manan, manan_staff)  # 40 minutes → 1.5 hours of class
    exchange = ledger.exchange_make(volunteer=li, rule=rule, quantity=2, actor=manan_staff)
    assert (exchange.minutes, exchange.approved_by) == (80, manan_staff)
    ledger.correction_record(volunteer=li, minutes=-10, actor=manan_staff, note="多记了")
    ledger.correction_record(volunteer=zhao, minutes=25, actor=manan_staff, note="补记")

    assert (balance(li), balance(zhao)) == (30, 75)  # 120 − 80 − 10; 50 + 25
    assert (ledger_sum(li), ledger_sum(zhao)) == (30, 75)
    kinds = list(
        HoursEntry.objects.filter(volunteer=li).order_by("id").values_list("kind", "minutes")
    )
    assert kinds == [("credit", 120), ("debit", -80), ("correction", -10)]


def test_confirming_twice_credits_once(manan_staff, patrol, li):
    attendance = build.served(patrol, li, manan_staff, in_at=local(2026, 11, 18, 9, 0),
                              out_at=local(2026, 11, 18, 10, 0))  # fmt: skip
    activities.attendance_confirm(attendance=attendance, actor=manan_staff)
    assert HoursEntry.objects.filter(attendance=attendance).count() == 1
    assert balance(li) == 60
    # And the database holds it, whatever the code above it does.
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursEntry.objects.create(
            volunteer=li,
            kind="credit",
            minutes=60,
            attendance=attendance,
            recorded_by=manan_staff,
            served_on=attendance.activity.starts_at.date(),
        )


def test_ledger_rows_are_never_changed_or_removed(manan_staff, patrol, li):
    build.served(patrol, li, manan_staff, in_at=local(2026, 11, 18, 9, 0),
                 out_at=local(2026, 11, 18, 10, 0))  # fmt: skip
    entry = HoursEntry.objects.get(volunteer=li)
    entry.minutes = 600
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    with pytest.raises(ValueError):
        HoursEntry.objects.filter(volunteer=li).update(minutes=600)
    with pytest.raises(ValueError):
        HoursEntry.objects.filter(volunteer=li).delete()
    assert HoursEntry.objects.get(volunteer=li).minutes == 60


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL's; SQLite has the model"
)
def test_on_postgresql_the_database_refuses_to_change_a_ledger_row(manan_staff, patrol, li):
    build.served(patrol, li, manan_staff, in_at=local(2026, 11, 18, 9, 0),
                 out_at=local(2026, 11, 18, 10, 0))  # fmt: skip
    from django.db import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE volunteers_hoursentry SET minutes = 600")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM volunteers_hoursentry")
    assert HoursEntry.objects.get(volunteer=li).minutes == 60


def test_the_database_refuses_a_negative_balance(li):
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.filter(volunteer=li).update(minutes=-1)


# --- Bad input: a clear message, nothing written ----------------------------------------


def test_signing_out_before_signing_in_is_refused(manan_staff, patrol, li):
    attendance = activities.activity_sign_up(activity=patrol, volunteer=li, actor=manan_staff)
    with pytest.raises(VolunteerRefusal, match="请先签到"):
        activities.attendance_sign_out(attendance=attendance, actor=manan_staff)
    activities.attendance_sign_in(
        attendance=attendance, actor=manan_staff, at=local(2026, 11, 18, 9, 30)
    )
    with pytest.raises(VolunteerRefusal, match="签退时间不能早于签到时间"):
        activities.attendance_sign_out(
            attendance=attendance, actor=manan_staff, at=local(2026, 11, 18, 9, 0)
        )
    attendance.refresh_from_db()
    assert attendance.signed_out_at is None


def test_the_leader_is_told_when_signing_out_someone_not_signed_in(
    as_user, manan_staff, patrol, li, zhao
):
    attendance = activities.activity_sign_up(activity=patrol, volunteer=zhao, actor=manan_staff)
    client = as_user(li.user)
    response = client.post(reverse("volunteers:sign_out", args=[attendance.pk]), follow=True)
    assert "请先签到" in response.content.decode()
    attendance.refresh_from_db()
    assert attendance.signed_out_at is None


def test_an_activity_longer_than_a_day_is_refused_with_what_was_typed_kept(as_user, fireflies, li):
    response = as_user(li.user).post(
        reverse("volunteers:activity_create", args=[fireflies.pk]),
        {
            "title": "两天的徒步",
            "place": "秦岭",
            "day": "2026-11-20",
            "starts": "08:00",
            "ends_day": "2026-11-21",
            "ends": "09:00",
            "headcount": "4",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "活动最长一天" in page and "两天的徒步" in page
    assert not Activity.objects.exists()
    with pytest.raises(VolunteerRefusal):
        activities.activity_create(
            team=fireflies, title="x", place="y", starts_at=local(2026, 11, 20, 8),
            ends_at=local(2026, 11, 21, 9), headcount=1, actor=li.user,
        )  # fmt: skip


def test_an_exchange_above_the_balance_is_refused_and_nothing_is_written(
    as_user, manan, manan_staff, patrol, li
):
    build.served(patrol, li, manan_staff, in_at=local(2026, 11, 18, 9, 0),
                 out_at=local(2026, 11, 18, 10, 0))  # fmt: skip
    rule = build.class_rule(manan, manan_staff)
    entries = HoursEntry.objects.count()
    response = as_user(manan_staff).post(
        reverse("volunteers:exchange", args=[li.pk]),
        {"rule": rule.pk, "quantity": "2", "note": "书法班"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "服务时长不足" in page and "书法班" in page
    assert (Exchange.objects.count(), HoursEntry.objects.count(), balance(li)) == (0, entries, 60)


def test_a_correction_without_a_reason_is_refused(as_user, manan_staff, li):
    response = as_user(manan_staff).post(
        reverse("volunteers:correction", args=[li.pk]), {"minutes": "30", "note": ""}
    )
    assert response.status_code == 422
    assert not HoursEntry.objects.exists() and balance(li) == 0


# --- Two exchanges at once ---------------------------------------------------------------


def test_two_exchanges_of_the_whole_balance_at_once_spend_it_once(
    transactional_db, manan, manan_staff, fireflies, li
):
    patrol = build.activity(fireflies, manan_staff)
    build.served(patrol, li, manan_staff, in_at=local(2026, 11, 18, 9, 0),
                 out_at=local(2026, 11, 18, 9, 40))  # fmt: skip
    rule = build.class_rule(manan, manan_staff)  # 40 minutes: the whole balance
    results: list[str] = []
    gate = threading.Barrier(2)

    def exchange() -> None:
        try:
            gate.wait(timeout=10)
            ledger.exchange_make(volunteer=li, rule=rule, actor=manan_staff)
            results.append("done")
        except VolunteerRefusal as refusal:
            results.append(str(refusal))
        finally:
            connection.close()

    if connection.vendor == "postgresql":  # two real connections, each in its own thread
        threads = [threading.Thread(target=exchange) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    else:  # SQLite serialises writers: the same two, one after the other
        gate = threading.Barrier(1)
        exchange()
        exchange()
    assert len(results) == 2
    assert results.count("done") == 1
    refused = next(r for r in results if r != "done")
    assert "Not enough service time" in refused or "服务时长不足" in refused
    assert balance(li) == 0
    assert Exchange.objects.count() == 1
    assert ledger_sum(li) == 0


# --- Signing in by the QR code ------------------------------------------------------------


def test_a_volunteer_signs_in_and_out_by_the_code_and_the_leader_confirms(
    as_user, clock, manan_staff, patrol, li, zhao
):
    url = codes.sign_in_path(patrol)
    client = as_user(zhao.user)
    assert client.get(url).status_code == 200
    client.post(url)  # signs up and in at 10:00
    clock.shift(dt.timedelta(minutes=45))
    client.post(url)  # out at 10:45
    attendance = Attendance.objects.get(activity=patrol, volunteer=zhao)
    assert attendance.signed_in_at and attendance.signed_out_at
    as_user(li.user).post(reverse("volunteers:confirm", args=[attendance.pk]))
    assert balance(zhao) == 45
    page = client.get(reverse("volunteers:mine")).content.decode()
    assert 'data-balance="45"' in page


def test_a_wrong_code_is_404(as_user, patrol, zhao):
    response = as_user(zhao.user).get(reverse("volunteers:code", args=[patrol.pk, "0" * 20]))
    assert response.status_code == 404
    assert not Attendance.objects.exists()


def test_someone_outside_the_team_cannot_sign_up(as_user, manan, manan_staff, patrol, li):
    other = build.team(manan, manan_staff, name="小蜜蜂")
    bee = build.volunteer(other, manan_staff, "孙美玲", account="bee")
    response = as_user(bee.user).post(reverse("volunteers:sign_up", args=[patrol.pk]))
    assert response.status_code == 404
    assert not Attendance.objects.exists()


def test_staff_who_open_the_code_link_are_told_it_is_for_members(as_user, manan_staff, patrol):
    url = codes.sign_in_path(patrol)
    response = as_user(manan_staff).get(url)
    assert response.status_code == 200
    assert "队员用自己的手机" in response.content.decode()
    assert as_user(manan_staff).post(url).status_code == 403
    assert not Attendance.objects.exists()


# --- The printed statement ---------------------------------------------------------------


@pytest.mark.usefixtures("clear_cache")
def test_the_years_statement_lists_the_rows_with_the_running_balance(
    as_user, clock, django_capture_on_commit_callbacks, manan, manan_staff, fireflies, li
):
    from pypdf import PdfReader

    clock.move_to(local(2025, 12, 20, 10))
    last_year = build.activity(fireflies, manan_staff, starts=local(2025, 12, 20, 9))
    build.served(last_year, li, manan_staff, in_at=local(2025, 12, 20, 9),
                 out_at=local(2025, 12, 20, 10, 30))  # fmt: skip
    clock.move_to(local(2026, 11, 18, 10))
    patrol = build.activity(fireflies, manan_staff)
    build.served(patrol, li, manan_staff, in_at=local(2026, 11, 18, 9),
                 out_at=local(2026, 11, 18, 10, 40))  # fmt: skip
    rule = build.class_rule(manan, manan_staff)
    ledger.exchange_make(volunteer=li, rule=rule, actor=manan_staff)

    url = reverse("volunteers:my_statement")
    with django_capture_on_commit_callbacks(execute=True):  # the worker makes the PDF
        assert as_user(li.user).get(url, {"year": "2026"}).status_code == 202
    response = as_user(li.user).get(url, {"year": "2026"})
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(__import__("io").BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")
    assert "李秀英" in text and "2026" in text
    assert "1小时30分钟" in text  # brought forward from 2025
    assert "1小时40分钟" in text  # credited in 2026
    assert "老年学校课程1.5小时" in text  # the exchange, 40 minutes
    assert "2小时30分钟" in text  # carried forward: 90 + 100 − 40
    # The same statement printed by the staff: the PDF made already.
    staff_pdf = as_user(manan_staff).get(
        reverse("volunteers:statement_pdf", args=[li.pk]), {"year": "2026"}
    )
    assert staff_pdf.status_code == 200 and staff_pdf.content == response.content


def test_staff_remove_a_member_and_a_leader_who_leaves_stops_leading(
    as_user, manan_staff, fireflies, li, zhao
):
    client = as_user(manan_staff)
    membership = li.memberships.get()
    response = client.post(reverse("volunteers:member_remove", args=[membership.pk]))
    assert response.status_code == 302
    membership.refresh_from_db()
    fireflies.refresh_from_db()
    assert membership.left_on == dt.date(2026, 11, 18) and fireflies.leader is None
    # A member may not remove another: they see the team, not its management.
    other = zhao.memberships.get()
    assert (
        as_user(zhao.user).post(reverse("volunteers:member_remove", args=[other.pk])).status_code
        == 403
    )
    other.refresh_from_db()
    assert other.left_on is None


# --- Where volunteers start ------------------------------------------------------------


def test_a_volunteer_with_no_other_role_starts_at_their_page(as_user, li):
    response = as_user(li.user).get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("volunteers:mine")


def test_a_council_member_who_volunteers_sees_a_tile_on_their_home(
    as_user, manan_staff, fireflies, manan_member, manan_leader_term
):
    from volunteers.actions import teams

    teams.team_add_member(team=fireflies, resident=manan_leader_term.resident, actor=manan_staff)
    manan_member.elder_mode = True
    manan_member.save(update_fields=["elder_mode"])
    page = as_user(manan_member).get(reverse("meetings:member_home")).content.decode()
    assert "tile-volunteering" in page and reverse("volunteers:mine") in page
    assert "fireflies" not in page
    mine = as_user(manan_member).get(reverse("volunteers:mine")).content.decode()
    assert "萤火虫" in mine


# --- Outsiders ----------------------------------------------------------------------------


@pytest.mark.outsider(
    "volunteers:teams",
    "volunteers:team_create",
    "volunteers:rule_create",
    "volunteers:team",
    "volunteers:member_add",
    "volunteers:member_remove",
    "volunteers:activity_create",
    "volunteers:activity",
    "volunteers:sign_up",
    "volunteers:code",
    "volunteers:sign_in",
    "volunteers:sign_out",
    "volunteers:confirm",
    "volunteers:volunteer",
    "volunteers:exchange",
    "volunteers:correction",
    "volunteers:statement_pdf",
    "volunteers:certificate_pdf",
)
@pytest.mark.parametrize("htmx", [False, True])
def test_outsiders_get_404_and_change_nothing(
    htmx, as_user, manan, manan_staff, xingfu_staff, other_admin, patrol, li, zhao
):
    rule = build.class_rule(manan, manan_staff)
    attendance = activities.activity_sign_up(activity=patrol, volunteer=zhao, actor=manan_staff)
    team = patrol.team
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    gets = [
        reverse("volunteers:teams", args=[manan.pk]),
        reverse("volunteers:team_create", args=[manan.pk]),
        reverse("volunteers:rule_create", args=[manan.pk]),
        reverse("volunteers:team", args=[team.pk]),
        reverse("volunteers:activity_create", args=[team.pk]),
        reverse("volunteers:activity", args=[patrol.pk]),
        codes.sign_in_path(patrol),
        reverse("volunteers:volunteer", args=[li.pk]),
        reverse("volunteers:statement_pdf", args=[li.pk]),
        reverse("volunteers:certificate_pdf", args=[li.pk]),
        reverse("volunteers:member_add", args=[team.pk]),
    ]
    posts = [
        (reverse("volunteers:team_create", args=[manan.pk]), {"name": "外来队"}),
        (reverse("volunteers:rule_create", args=[manan.pk]), {"minutes": 1, "gives": "x"}),
        (reverse("volunteers:member_add", args=[team.pk]), {"resident": li.resident_id}),
        (reverse("volunteers:member_remove", args=[li.memberships.get().pk]), {}),
        (reverse("volunteers:activity_create", args=[team.pk]), {"title": "x"}),
        (reverse("volunteers:sign_up", args=[patrol.pk]), {}),
        (codes.sign_in_path(patrol), {}),
        (reverse("volunteers:sign_in", args=[attendance.pk]), {}),
        (reverse("volunteers:sign_out", args=[attendance.pk]), {}),
        (reverse("volunteers:confirm", args=[attendance.pk]), {}),
        (reverse("volunteers:exchange", args=[li.pk]), {"rule": rule.pk, "quantity": 1}),
        (reverse("volunteers:correction", args=[li.pk]), {"minutes": 60, "note": "x"}),
    ]
    # A volunteer of another community, with an account.
    xingfu_team = build.team(xingfu_staff.roles.get().community, xingfu_staff, name="萤火虫")
    stranger = build.volunteer(xingfu_team, xingfu_staff, "外社区志愿者", account="stranger")
    before = (HoursEntry.objects.count(), Exchange.objects.count(), Attendance.objects.count())
    for outsider in (xingfu_staff, other_admin, stranger.user):
        client = as_user(outsider)
        for url in gets:
            assert client.get(url, **headers).status_code == 404, (outsider, url)
        for url, data in posts:
            assert client.post(url, data, **headers).status_code == 404, (outsider, url)
    after = (HoursEntry.objects.count(), Exchange.objects.count(), Attendance.objects.count())
    assert after == before
    attendance.refresh_from_db()
    assert attendance.signed_in_at is None
    assert Role.objects.filter(user=stranger.user).count() == 0
    assert li.memberships.get().left_on is None


def test_a_team_member_who_does_not_lead_may_not_run_the_activity(
    as_user, manan_staff, patrol, li, zhao
):
    attendance = activities.activity_sign_up(activity=patrol, volunteer=li, actor=manan_staff)
    client = as_user(zhao.user)
    assert client.post(reverse("volunteers:sign_in", args=[attendance.pk])).status_code == 403
    assert client.get(reverse("volunteers:volunteer", args=[li.pk])).status_code == 404
    attendance.refresh_from_db()
    assert attendance.signed_in_at is None


# --- Query counts -------------------------------------------------------------------------


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def grow(team, staff, volunteer, n: int) -> None:
    """``n`` more past activities served and confirmed, and ``n`` coming ones signed up for."""
    for i in range(n):
        starts = local(2026, 10, 1, 9) - dt.timedelta(days=i)
        past = Activity.objects.create(
            team=team, title=f"过去{i}", place="东门", starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1), headcount=3, created_by=staff,
        )  # fmt: skip
        attendance = Attendance.objects.create(
            activity=past, volunteer=volunteer, signed_in_at=starts,
            signed_out_at=starts + dt.timedelta(minutes=30),
        )  # fmt: skip
        activities.attendance_confirm(attendance=attendance, actor=staff)
        coming = build.activity(team, staff, starts=local(2026, 11, 20, 9) + dt.timedelta(days=i))
        activities.activity_sign_up(activity=coming, volunteer=volunteer, actor=staff)


def test_pages_run_as_many_queries_for_many_rows_as_for_few(
    as_user, manan, manan_staff, fireflies, li
):
    volunteer_client, staff_client = as_user(li.user), as_user(manan_staff)
    pages = [
        (volunteer_client, reverse("volunteers:mine")),
        (volunteer_client, reverse("volunteers:team", args=[fireflies.pk])),
        (staff_client, reverse("volunteers:team", args=[fireflies.pk])),
        (staff_client, reverse("volunteers:teams", args=[manan.pk])),
        (staff_client, reverse("volunteers:volunteer", args=[li.pk])),
    ]
    grow(fireflies, manan_staff, li, 3)
    few = [count(client, url) for client, url in pages]
    grow(fireflies, manan_staff, li, 30)
    for i in range(20):
        build.volunteer(fireflies, manan_staff, f"队员{i}")
    many = [count(client, url) for client, url in pages]
    assert many == few
    assert few[0] <= 12  # the volunteer's own page


# --- Repeating activities -----------------------------------------------------------------


def test_a_weekly_activity_is_planned_on_the_same_weekday_until_the_date(as_user, fireflies, li):
    response = as_user(li.user).post(
        reverse("volunteers:activity_create", args=[fireflies.pk]),
        {
            "title": "夜间巡逻", "place": "小区东门", "day": "2026-11-20", "starts": "19:00",
            "ends": "21:00", "headcount": "4", "repeats": "weekly", "until": "2026-12-11",
        },
    )  # fmt: skip
    assert response.status_code == 302
    planned = Activity.objects.order_by("starts_at")
    assert [a.starts_at for a in planned] == [
        local(2026, 11, 20, 19), local(2026, 11, 27, 19), local(2026, 12, 4, 19),
        local(2026, 12, 11, 19),
    ]  # fmt: skip
    assert all(a.ends_at - a.starts_at == dt.timedelta(hours=2) for a in planned)
    assert len({a.series for a in planned}) == 1 and planned[0].series is not None


def test_a_monthly_activity_on_the_31st_falls_on_shorter_months_last_day(fireflies, li):
    activities.activity_create(
        team=fireflies, title="清洁日", place="各楼栋", starts_at=local(2026, 12, 31, 9),
        ends_at=local(2026, 12, 31, 11), headcount=6, actor=li.user, repeats="monthly",
        until=dt.date(2027, 3, 31),
    )  # fmt: skip
    days = [a.starts_at.astimezone(local(2026, 1, 1).tzinfo).date() for a in Activity.objects.all()]
    assert sorted(days) == [
        dt.date(2026, 12, 31), dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31),
    ]  # fmt: skip


def test_a_series_without_an_end_or_longer_than_half_a_year_is_refused(as_user, fireflies, li):
    data = {
        "title": "夜间巡逻", "place": "小区东门", "day": "2026-11-20", "starts": "19:00",
        "ends": "21:00", "headcount": "4", "repeats": "weekly",
    }  # fmt: skip
    client = as_user(li.user)
    url = reverse("volunteers:activity_create", args=[fireflies.pk])
    assert client.post(url, data).status_code == 422
    assert client.post(url, {**data, "until": "2027-12-31"}).status_code == 422
    assert not Activity.objects.exists()
