from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deliberation.management.commands.seed_demo import DEMO_PASSWORD
from deliberation.models import AgendaItem, Meeting, MeetingGuest, Minutes
from issues.models import Escalation, Event, Issue, ReplyTemplate
from members.models import Community, Council, CouncilMember, Notice, Resident, Role, User
from visits import figures
from visits import queries as visits_queries
from visits.models import AskedVisit, Pairing, Round, Target, Visit, VisitConcern
from visits.models import Team as VisitingTeam
from volunteers.models import (
    Activity,
    Attendance,
    Exchange,
    HoursEntry,
    Membership,
    Team,
    Volunteer,
)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def totals() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Community,
            Council,
            Resident,
            CouncilMember,
            User,
            Role,
            Notice,
            Issue,
            Event,
            Escalation,
            Meeting,
            AgendaItem,
            Team,
            Volunteer,
            Activity,
            Attendance,
            HoursEntry,
            Exchange,
            Pairing,
            Round,
            Target,
            Visit,
            VisitConcern,
        )
    }


def test_demo_data_is_realistic_and_idempotent(db):
    printed = seed()
    first = totals()
    assert seed() and totals() == first

    nanen = Community.objects.filter(street__name="南恩街道")
    assert nanen.count() >= 16
    assert {"马南社区", "幸福村社区"} <= set(nanen.values_list("name", flat=True))
    assert Resident.objects.filter(community__in=nanen).count() >= 200
    current = Q(members__left_on__isnull=True)
    sizes = Council.objects.annotate(n=Count("members", filter=current)).values_list("n", flat=True)
    assert all(10 <= n <= 20 for n in sizes)
    serving = CouncilMember.objects.filter(left_on__isnull=True)
    assert len(set(serving.values_list("category", flat=True))) == 9
    assert set(serving.values_list("role", flat=True)) == {"leader", "deputy", "member"}
    assert serving.filter(is_lane_leader=True).exists()
    assert serving.filter(is_building_leader=True).exists()
    assert serving.filter(is_party_household=True).exists()
    assert CouncilMember.objects.filter(left_on__isnull=False).exists()  # history to show

    assert set(Role.objects.values_list("kind", flat=True)) == set(Role.Kind.values)
    assert Issue.objects.filter(community__name="马南社区").count() >= 10
    # The small park's drinking fountain is one open matter with a "me too", not two reports.
    fountain = Issue.objects.filter(
        community__name="马南社区", title__contains="饮水机", status__in=Issue.OPEN_STATUSES
    )
    assert fountain.count() == 1 and fountain.get().supporter_count >= 1
    assert ReplyTemplate.objects.filter(street__name="南恩街道", is_active=True).count() >= 3
    assert len(set(Issue.objects.values_list("status", flat=True))) >= 4
    assert Escalation.objects.filter(state="pending").exists()
    assert Meeting.objects.filter(council__community__name="马南社区").count() >= 3
    assert AgendaItem.objects.filter(meeting__council__community__name="马南社区").exists()
    held = Meeting.objects.get(council__community__name="马南社区", state="held")
    assert held.attendances.exists() and held.agenda_items.filter(decision__isnull=False).exists()
    assert held.minutes.get().state == "approved"
    assert Escalation.objects.filter(
        state="accepted", department__name="城市管理和综合执法局"
    ).exists()
    teams = Team.objects.filter(community__name="马南社区")
    assert set(teams.values_list("name", flat=True)) == {
        "萤火虫", "指南针", "小号手", "向日葵", "小蜜蜂", "红色代跑",
    }  # fmt: skip
    assert all(team.leader_id for team in teams)
    assert Activity.objects.filter(team__in=teams, ends_at__lt=timezone.now()).count() >= 60
    assert Activity.objects.filter(team__in=teams, starts_at__gt=timezone.now()).exists()
    assert HoursEntry.objects.filter(kind="credit").count() >= 100
    assert Exchange.objects.exists()
    # Two of each team agreed to be thanked on the transparency page.
    assert Membership.objects.filter(team__in=teams, thanks_consent=True).count() == 12
    for volunteer in Volunteer.objects.select_related("balance"):
        rows = HoursEntry.objects.filter(volunteer=volunteer).values_list("minutes", flat=True)
        assert volunteer.balance.minutes == sum(rows) >= 0
    # Visiting teams paired with the street's communities, this quarter's round, visits whose
    # concerns became matters; a cadre sent down whose only role is the team's work.
    assert VisitingTeam.objects.filter(street__name="南恩街道").count() == 2
    assert Pairing.objects.filter(ended_on__isnull=True).count() == 6
    assert Round.objects.count() == 1 and Target.objects.count() > 100
    assert Visit.objects.exists() and VisitConcern.objects.count() >= 2
    assert not Role.objects.filter(user__username="nanen_cadre").exists()
    # The quarter's review flags the team that lags and not the one that is done.
    nanen = VisitingTeam.objects.filter(street__name="南恩街道").first().street
    today = timezone.localdate()
    review = figures.team_figures(nanen, figures.Span(today.year, (today.month - 1) // 3 + 1),
                                  today=today)  # fmt: skip
    assert [row.team.name for row in review if row.flagged] == ["马南片区走访工作团队"]
    # Two visits residents asked for (one given a date, texted once) and a return-visit task.
    assert sorted(AskedVisit.objects.values_list("state", flat=True)) == ["requested", "scheduled"]
    assert Notice.objects.filter(kind="asked_visit_scheduled").count() == 1
    first_team = VisitingTeam.objects.get(name="马南片区走访工作团队")
    assert [c.issue.title for c in visits_queries.return_tasks(first_team)] == ["单元门禁坏了"]
    # A joint meeting: a unit and a cadre attended 马南社区's held meeting without a vote.
    held = MeetingGuest.objects.filter(meeting__state="held", signed_in_at__isnull=False)
    assert sorted(str(guest) for guest in held) == ["区住建局 下沉干部 赵明", "区供电所"]
    assert not held.filter(may_vote=True).exists()
    assert "列席（无表决权）" in Minutes.objects.get(meeting=held.first().meeting).text
    # 马南社区's next meeting, with the same guests, is joint with 幸福村社区's council (联席会议).
    upcoming = Meeting.objects.filter(state="scheduled", joined_councils__isnull=False)
    assert [(m.council.name, [c.name for c in m.joined_councils.all()]) for m in upcoming] == [
        ("马南社区居民议事会", ["幸福村社区居民议事会"])
    ]
    assert DEMO_PASSWORD in printed
    for username in [
        "manan_staff", "xingfu_staff", "nanen_admin", "manan_member", "city_handler",
        "manan_volunteer", "manan_cadre",
        "nanen_cadre", "nanen_visitor",
    ]:  # fmt: skip
        assert username in printed
        client = Client()
        response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username


def test_models_and_migrations_agree(db):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
