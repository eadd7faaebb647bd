"""Visiting teams (走访): teams and pairings, the quarter's round, recording a visit."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import translation

from issues.models import Event, Issue
from members.models import Notice, PhoneReveal
from tests import factories
from tests.helpers import visits as build
from visits.actions import VisitsRefusal, rounds, teams, visiting
from visits.models import Pairing, Round, Target, TeamMember, Visit, VisitConcern

ROUND_DAY = dt.date(2026, 10, 8)  # a Thursday, the first working day after National Day


@pytest.fixture
def leader(db):
    return build.cadre("li_cadre")


@pytest.fixture
def walker(db):
    return build.cadre("zhou_walker")


@pytest.fixture
def manan_team(nanen, manan, nanen_admin, leader, walker):
    return build.team(nanen, "马南走访队", leader=leader, members=[walker], communities=[manan],
                      admin=nanen_admin)  # fmt: skip


@pytest.fixture
def households(manan, xingfu):
    """马南社区: three rooms of 3栋 (one with two residents), one resident with no room, one
    moved away; 幸福村社区: two residents. Five households in 马南, two in 幸福村."""
    made = {
        "wang": factories.resident(manan, "王阿姨", lane="一巷", building="3栋", room="101",
                                   phone="13812345678"),
        "wang2": factories.resident(manan, "王叔叔", lane="一巷", building="3栋", room="101"),
        "li": factories.resident(manan, "李奶奶", lane="一巷", building="3栋", room="102"),
        "zhao": factories.resident(manan, "赵大爷", lane="二巷", building="5栋", room="201"),
        "chen": factories.resident(manan, "陈伯", lane="二巷", building="", room=""),
        "he": factories.resident(manan, "何姐", lane="二巷", building="", room=""),
        "xf1": factories.resident(xingfu, "幸福甲", building="1栋", room="101"),
        "xf2": factories.resident(xingfu, "幸福乙", building="1栋", room="102"),
    }  # fmt: skip
    gone = factories.resident(manan, "搬走的", building="9栋", room="909")
    gone.is_active = False
    gone.deactivated_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    gone.save()
    return made


# --- Teams and pairings ------------------------------------------------------------------


def test_a_compound_has_one_open_pairing_and_its_history_stays(manan_team, nanen, manan,
                                                                nanen_admin, leader):  # fmt: skip
    other = build.team(nanen, "第二队", leader=build.cadre("other_leader"))
    with pytest.raises(VisitsRefusal, match="已与一个工作团队结对"):
        teams.team_pair(actor=nanen_admin, team=other, community=manan)
    with pytest.raises(VisitsRefusal, match="已与一个工作团队结对"):
        teams.team_pair(actor=nanen_admin, team=other, community=manan, building="3栋")
    # The database holds it too, whatever a caller does.
    with pytest.raises(IntegrityError), transaction.atomic():
        Pairing.objects.create(team=other, community=manan, started_on=dt.date(2026, 10, 1))

    first = manan_team.pairings.get()
    teams.pairing_end(actor=nanen_admin, pairing=first, today=dt.date(2026, 10, 5))
    second = teams.team_pair(actor=nanen_admin, team=other, community=manan,
                             today=dt.date(2026, 10, 6))  # fmt: skip
    assert list(Pairing.objects.filter(community=manan).values_list("team__name", "ended_on")) == [
        ("马南走访队", dt.date(2026, 10, 5)),
        ("第二队", None),
    ]
    assert second.ended_on is None


def test_buildings_of_one_community_go_to_different_teams(nanen, manan, nanen_admin):
    first = build.team(nanen, "一队", leader=build.cadre("a1"))
    second = build.team(nanen, "二队", leader=build.cadre("a2"))
    teams.team_pair(actor=nanen_admin, team=first, community=manan, building="3栋")
    teams.team_pair(actor=nanen_admin, team=second, community=manan, building="5栋")
    with pytest.raises(VisitsRefusal):  # the whole community would take both buildings
        teams.team_pair(actor=nanen_admin, team=second, community=manan)


def test_a_team_needs_a_leader_and_nothing_is_half_written(nanen, manan, nanen_admin, walker):
    with pytest.raises(VisitsRefusal, match="必须有一名队长"):
        teams.team_create(actor=nanen_admin, street=nanen, name="无队长", leader=None,
                          members=[walker], communities=[manan])  # fmt: skip
    assert not TeamMember.objects.exists() and not Pairing.objects.exists()


def test_the_team_form_says_a_leader_is_needed(as_user, nanen, manan, nanen_admin, walker):
    response = as_user(nanen_admin).post(
        reverse("visits:team_new", args=[nanen.pk]),
        {"name": "无队长", "members": [walker.pk], "communities": [manan.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert "A team needs a leader." in response.text
    assert 'value="无队长"' in response.text  # what was typed stays
    assert not TeamMember.objects.exists()


def test_the_street_admin_forms_a_team(as_user, nanen, manan, nanen_admin, leader, walker):
    url = reverse("visits:team_new", args=[nanen.pk])
    form = as_user(nanen_admin).get(url)
    assert leader.display_name in form.text  # an account with no role may be placed
    response = as_user(nanen_admin).post(url, {
        "name": "马南走访队", "leader": leader.pk, "members": [walker.pk],
        "communities": [manan.pk],
    })  # fmt: skip
    assert response.status_code == 302
    memberships = TeamMember.objects.filter(team__name="马南走访队", left_on__isnull=True)
    assert set(memberships.values_list("user__username", flat=True)) == {"li_cadre", "zhou_walker"}
    assert Pairing.objects.get(community=manan).team.leader == leader


def test_a_cadre_with_no_other_role_starts_from_the_team_page(as_user, manan_team, leader):
    response = as_user(leader).get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("visits:team", args=[manan_team.pk])


def test_someone_with_no_role_and_no_team_still_gets_the_no_role_page(as_user, db):
    assert as_user(build.cadre("nobody")).get(reverse("home")).status_code == 403


# --- Rounds --------------------------------------------------------------------------------


def test_a_round_is_opened_once_however_often_it_is_asked(manan_team, households, nanen):
    first = rounds.rounds_open_due(today=ROUND_DAY)
    again = rounds.rounds_open_due(today=ROUND_DAY)
    next_day = rounds.rounds_open_due(today=ROUND_DAY + dt.timedelta(days=1))
    assert len(first) == 1 and again == [] and next_day == []
    assert Round.objects.count() == 1
    round_ = Round.objects.get()
    assert (round_.year, round_.quarter, round_.due_on) == (2026, 4, dt.date(2026, 10, 10))
    assert Target.objects.count() == 5
    with pytest.raises(IntegrityError), transaction.atomic():
        Round.objects.create(street=nanen, year=2026, quarter=4, opened_on=ROUND_DAY,
                             due_on=dt.date(2026, 10, 10))  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_four_beats_at_once_open_one_round_with_each_household_once(manan_team, households):
    """Beat processes racing: separate connections released together."""
    barrier = threading.Barrier(4)
    opened, errors = [], []

    def beat():
        try:
            barrier.wait(timeout=10)
            opened.append(len(rounds.rounds_open_due(today=ROUND_DAY)))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(opened) == [0, 0, 0, 1]
    assert Round.objects.count() == 1 and Target.objects.count() == 5


def test_a_round_opens_only_on_the_quarters_first_working_days(manan_team, households):
    assert rounds.rounds_open_due(today=dt.date(2026, 10, 3)) == []  # a Saturday
    assert rounds.rounds_open_due(today=dt.date(2026, 10, 12)) == []  # after the window
    assert rounds.rounds_open_due(today=dt.date(2026, 11, 2)) == []  # not a quarter's month
    assert Round.objects.count() == 0


def test_targets_are_households_of_the_paired_compounds(manan_team, households, nanen,
                                                        nanen_admin, xingfu):  # fmt: skip
    second = build.team(nanen, "幸福村队", leader=build.cadre("xf_leader"))
    teams.team_pair(actor=nanen_admin, team=second, community=xingfu, building="1栋")
    round_, created = rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    assert created
    by_team = {
        team: sorted(Target.objects.filter(team__name=team).values_list("building", "room",
                                                                        "resident__name"))
        for team in ("马南走访队", "幸福村队")
    }  # fmt: skip
    # Hand count: 3栋101 (two residents, one household), 3栋102, 5栋201, and two residents
    # with no room (a household each); the one who moved away is not visited.
    assert by_team["马南走访队"] == [
        ("", "", "何姐"), ("", "", "陈伯"), ("3栋", "101", "王阿姨"), ("3栋", "102", "李奶奶"),
        ("5栋", "201", "赵大爷"),
    ]  # fmt: skip
    assert by_team["幸福村队"] == [("1栋", "101", "幸福甲"), ("1栋", "102", "幸福乙")]
    assert rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY) == (
        round_, False,
    )  # fmt: skip
    assert Target.objects.count() == 7


def test_the_round_is_opened_by_its_beat_task(manan_team, households, clock):
    from visits import tasks

    clock.move_to(dt.datetime(2026, 10, 8, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert tasks.open_rounds.delay().get() == 1
    assert tasks.open_rounds.delay().get() == 0
    assert Target.objects.count() == 5


def test_leaders_of_overdue_teams_are_reminded_once_a_day(manan_team, households, nanen,
                                                          leader):  # fmt: skip
    rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    assert rounds.overdue_remind(today=dt.date(2026, 10, 10)) == 0  # due today: not late
    assert rounds.overdue_remind(today=dt.date(2026, 10, 11)) == 1
    assert rounds.overdue_remind(today=dt.date(2026, 10, 11)) == 0
    assert rounds.overdue_remind(today=dt.date(2026, 10, 12)) == 1
    notices = Notice.objects.filter(kind="round_overdue", channel="inapp")
    assert list(notices.values_list("recipient__username", flat=True)) == ["li_cadre"] * 2
    assert notices.first().context["visited"] == 0 and notices.first().context["target"] == 5


# --- Recording a visit ---------------------------------------------------------------------


@pytest.fixture
def opened(manan_team, households, nanen):
    round_, _ = rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    return round_


def visit_post(resident, *, category, concerns=(), **fields) -> dict:
    data = {
        "resident": resident.pk, "kind": "concentrated", "visited_on": "2026-10-09",
        "notes": "家里一切都好", "submission_key": "k-1",
        "concern-TOTAL_FORMS": "3", "concern-INITIAL_FORMS": "0",
        "concern-MIN_NUM_FORMS": "0", "concern-MAX_NUM_FORMS": "6",
    }  # fmt: skip
    for index, title in enumerate(concerns):
        data[f"concern-{index}-title"] = title
        data[f"concern-{index}-category"] = category.pk
        data[f"concern-{index}-description"] = f"{title}，请尽快处理"
    data.update(fields)
    return data


def test_a_visit_with_two_concerns_makes_two_matters_in_the_community_inbox(
    as_user, opened, manan_team, households, leader, walker, manan, manan_staff, nanen
):
    category = factories.category(nanen, "environment")
    url = reverse("visits:visit_new", args=[manan_team.pk])
    data = visit_post(households["wang2"], category=category, concerns=["楼道堆物", "路灯不亮"],
                      visitors=[walker.pk])  # fmt: skip
    response = as_user(leader).post(url, data)
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert response.url == reverse("visits:visit", args=[visit.pk]) + "?recorded=1"
    assert set(visit.visitors.values_list("username", flat=True)) == {"li_cadre", "zhou_walker"}
    matters = Issue.objects.filter(visit_concern__visit=visit).order_by("id")
    assert [(i.title, i.channel, i.reporter, i.community) for i in matters] == [
        ("楼道堆物", "team_visit", households["wang2"], manan),
        ("路灯不亮", "team_visit", households["wang2"], manan),
    ]
    assert all(i.events.filter(kind=Event.Kind.CREATED).count() == 1 for i in matters)
    inbox = as_user(manan_staff).get(reverse("issues:inbox"))
    assert "楼道堆物" in inbox.text and "路灯不亮" in inbox.text
    # The household 3栋101 counts as visited, whoever of its residents was met.
    assert Target.objects.get(resident=households["wang"]).visited_on == dt.date(2026, 10, 9)
    assert visit.target.resident == households["wang"]
    # A second post of the same drawn form records nothing more.
    again = as_user(leader).post(url, data)
    assert again.status_code == 302 and again.url == response.url
    assert Visit.objects.count() == 1 and VisitConcern.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"visited_on": "2026-11-19"}, "A visit cannot be dated in the future."),
        ({"kind": "gossip"}, "Select a valid choice"),
    ],
)
def test_bad_visits_are_refused_with_nothing_written(as_user, opened, manan_team, households,
                                                     leader, nanen, change, message):  # fmt: skip
    category = factories.category(nanen, "environment")
    data = visit_post(households["li"], category=category, concerns=["楼道堆物"], **change)
    response = as_user(leader).post(
        reverse("visits:visit_new", args=[manan_team.pk]), data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 422
    assert message in response.text
    assert "楼道堆物" in response.text  # nothing typed is lost
    assert not Visit.objects.exists() and not Issue.objects.exists()


def test_a_household_outside_the_teams_compounds_is_refused(as_user, opened, manan_team,
                                                            households, leader, nanen):  # fmt: skip
    category = factories.category(nanen, "environment")
    data = visit_post(households["xf1"], category=category, concerns=["楼道堆物"])
    response = as_user(leader).post(
        reverse("visits:visit_new", args=[manan_team.pk]), data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    assert response.url == reverse("visits:visit_pick", args=[manan_team.pk])
    with translation.override("en"), pytest.raises(VisitsRefusal, match="not in the team"):
        visiting.visit_record(actor=leader, team=manan_team, resident=households["xf1"],
                              kind="thematic", visited_on=dt.date(2026, 10, 9), visitors=[],
                              today=dt.date(2026, 11, 18))  # fmt: skip
    assert not Visit.objects.exists() and not Issue.objects.exists()


def test_a_concern_that_fails_leaves_no_visit(opened, manan_team, households, leader, nanen,
                                              chengbei):  # fmt: skip
    wrong = factories.category(chengbei, "environment")  # a category of another street
    with pytest.raises(VisitsRefusal.__mro__[1]):
        visiting.visit_record(
            actor=leader, team=manan_team, resident=households["li"], kind="concentrated",
            visited_on=dt.date(2026, 10, 9), visitors=[],
            concerns=[{"title": "好的", "category": factories.category(nanen, "other")},
                      {"title": "坏的", "category": wrong}],
            today=dt.date(2026, 11, 18),
        )  # fmt: skip
    assert not Visit.objects.exists() and not Issue.objects.exists()
    assert Target.objects.filter(visited_on__isnull=False).count() == 0


def test_the_street_page_shows_progress_and_flags_overdue_teams(as_user, opened, manan_team,
                                                                households, leader, nanen,
                                                                nanen_admin):  # fmt: skip
    visiting.visit_record(actor=leader, team=manan_team, resident=households["li"],
                          kind="concentrated", visited_on=dt.date(2026, 10, 9), visitors=[],
                          today=dt.date(2026, 11, 18))  # fmt: skip
    page = as_user(nanen_admin).get(reverse("visits:street", args=[nanen.pk]))
    assert page.status_code == 200
    assert "1 / 5" in page.text
    assert 'class="overdue"' in page.text and "tag overdue" in page.text


def test_the_team_page_lists_households_searchable_with_phones_masked(
    as_user, opened, manan_team, leader
):
    url = reverse("visits:team", args=[manan_team.pk])
    page = as_user(leader).get(url)
    assert "王阿姨" in page.text and "138****5678" in page.text and "13812345678" not in page.text
    found = as_user(leader).get(url, {"q": "5栋"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="targets")
    assert "赵大爷" in found.text and "王阿姨" not in found.text
    assert "Recent visits" not in found.text  # the list alone


def test_a_team_member_reveals_a_households_number_on_the_record(as_user, opened, manan_team,
                                                                 households, leader):  # fmt: skip
    url = reverse("visits:household_phone", args=[manan_team.pk, households["wang"].pk])
    response = as_user(leader).post(url)
    assert "13812345678" in response.text
    assert PhoneReveal.objects.filter(actor=leader, resident=households["wang"]).count() == 1


# --- Outsiders -----------------------------------------------------------------------------


@pytest.mark.outsider(
    "visits:team", "visits:visit_pick", "visits:visit_new", "visits:visit",
    "visits:household_phone",
    "visits:street", "visits:team_new",
)  # fmt: skip
def test_outsiders_get_404_everywhere(as_user, opened, manan_team, households, leader, nanen,
                                      other_admin, xingfu_staff, manan_staff):  # fmt: skip
    other_team = build.team(nanen, "另一队", leader=build.cadre("another"))
    visit = visiting.visit_record(actor=leader, team=manan_team, resident=households["li"],
                                  kind="thematic", visited_on=dt.date(2026, 10, 9), visitors=[],
                                  today=dt.date(2026, 11, 18))  # fmt: skip
    urls = [
        reverse("visits:team", args=[manan_team.pk]),
        reverse("visits:visit_new", args=[manan_team.pk]),
        reverse("visits:visit", args=[visit.pk]),
        reverse("visits:visit_pick", args=[manan_team.pk]),
    ]
    outsiders = [other_admin, xingfu_staff, manan_staff, other_team.leader]
    for who in outsiders:
        client = as_user(who)
        for url in urls:
            assert client.get(url).status_code == 404, (who, url)
            assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404, (who, url)
        phone = reverse("visits:household_phone", args=[manan_team.pk, households["wang"].pk])
        assert client.post(phone).status_code == 404
        post = client.post(urls[1], {"resident": households["li"].pk, "kind": "thematic"})
        assert post.status_code == 404
    for who in [other_admin, xingfu_staff, manan_staff, leader]:
        assert as_user(who).get(reverse("visits:street", args=[nanen.pk])).status_code == 404
        assert as_user(who).get(reverse("visits:team_new", args=[nanen.pk])).status_code == 404
    assert Visit.objects.count() == 1 and not PhoneReveal.objects.exists()
    # The leader's own team, but a household of another team's compounds: 404 too.
    outside = reverse("visits:household_phone", args=[manan_team.pk, households["xf1"].pk])
    assert as_user(leader).post(outside).status_code == 404


# --- Query counts --------------------------------------------------------------------------


def fill(team, manan, count: int) -> None:
    from members.models import Resident

    Resident.objects.bulk_create(
        Resident(community=manan, name=f"居民{count}-{i}", building=f"{i % 9}栋", room=f"{i}",
                 phone="13812345678")
        for i in range(count)
    )  # fmt: skip


@pytest.mark.parametrize("count", [3, 300])
def test_team_and_street_pages_run_a_fixed_number_of_queries(
    as_user, manan_team, manan, nanen, nanen_admin, leader, count, django_assert_num_queries
):
    fill(manan_team, manan, count)
    rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    for target in Target.objects.order_by("id")[: min(count, 20)]:
        visiting.visit_record(actor=leader, team=manan_team, resident=target.resident,
                              kind="concentrated", visited_on=dt.date(2026, 10, 9),
                              visitors=[], today=dt.date(2026, 11, 18))  # fmt: skip
    # session, user with its unread count, roles; team memberships; the team; the round with
    # the team's progress; the page of households; members, pairings (now and before),
    # visits, the matters to revisit, the visits residents asked for.
    member, admin = as_user(leader), as_user(nanen_admin)
    with django_assert_num_queries(12):
        assert member.get(reverse("visits:team", args=[manan_team.pk])).status_code == 200
    # session, user with its unread count, roles; the street; the round; the admin's own
    # teams; the teams with their progress.
    with django_assert_num_queries(7):
        assert admin.get(reverse("visits:street", args=[nanen.pk])).status_code == 200


def test_the_household_is_found_among_the_teams_compounds_only(as_user, opened, manan_team,
                                                               leader):  # fmt: skip
    url = reverse("visits:visit_pick", args=[manan_team.pk])
    found = as_user(leader).get(url, {"q": "1栋"}).text
    assert "幸福甲" not in found  # 幸福村's 1栋 is another team's
    found = as_user(leader).get(url, {"q": "赵"}).text
    assert "赵大爷" in found and "二巷 5栋 201" in found


def test_a_member_who_leaves_keeps_the_history_and_loses_the_team(as_user, manan_team, leader,
                                                                  walker):  # fmt: skip
    term = TeamMember.objects.get(team=manan_team, user=walker)
    with translation.override("en"), pytest.raises(VisitsRefusal, match="another leader"):
        teams.team_member_leave(actor=leader, membership=TeamMember.objects.get(user=leader))
    teams.team_member_leave(actor=leader, membership=term, today=dt.date(2026, 10, 9))
    assert TeamMember.objects.get(pk=term.pk).left_on == dt.date(2026, 10, 9)
    assert as_user(walker).get(reverse("visits:team", args=[manan_team.pk])).status_code == 404
    assert as_user(walker).get(reverse("home")).status_code == 403


def test_a_teams_households_come_in_the_pages_order_from_an_index(manan_team, manan, nanen):
    """The team page lists its households by compound, lane, building and room, 50 at a
    time; with thousands per team, sorting them all on every page was most of its time.
    The planner is told not to sort where it can avoid it: only an index in that order lets
    it."""
    from visits import queries

    fill(manan_team, manan, 30)
    round_, _ = rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    for left in (False, True):
        page = queries.targets_of(manan_team, round_, left=left)[:51]
        sql, params = page.query.sql_with_params()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for setting in ("enable_sort", "enable_seqscan", "enable_bitmapscan"):
                    cursor.execute(f"SET LOCAL {setting} = off")
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "visit_target_page" in plan and "Sort" not in plan, plan
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
                assert "visit_target_page" in plan and "TEMP B-TREE" not in plan, plan


def test_opening_a_round_tells_the_planner_of_its_households(manan_team, manan, nanen):
    """Planned on statistics that know no row of a new round, a team's first pages after the
    round opens read every household of the round to find the team's."""
    fill(manan_team, manan, 30)
    round_, _ = rounds.round_open(street=nanen, year=2026, quarter=4, today=ROUND_DAY)
    written = Target.objects.filter(round=round_).count()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'visits_target'")
            assert cursor.fetchone()[0] == written
        else:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'visits_target'")
            counted = {int(row[0].split()[0]) for row in cursor.fetchall()}
            assert counted == {written}
