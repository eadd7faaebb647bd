"""Pages of visiting teams: the street's teams and rounds, a team's households and visits,
recording a visit from a phone. Thin: scope → validate → action → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common import flows
from common.paging import keyset_page
from common.refusals import Refusal
from members import actions as members_actions
from members import queries as members_queries
from members import submissions
from visits import permissions, queries
from visits.actions import rounds as round_actions
from visits.actions import teams as team_actions
from visits.actions import visiting
from visits.forms import ConcernFormSet, TeamForm, VisitForm

PAGE_SIZE = 50
TARGET_KEYS = ("community_id", "lane", "building", "room", "id")


@login_required
@require_GET
def street_teams(request: HttpRequest, street_id: int) -> HttpResponse:
    """The street's teams with the quarter's round: households visited of the target,
    days left, and the teams past due flagged."""
    street = members_queries.street_for(request.user, street_id)
    permissions.require_manage_teams(request.user, street)
    today = timezone.localdate()
    round_ = queries.current_round(street, today)
    teams = list(queries.teams_with_progress(request.user, street, round_))
    if round_ is not None:
        for team in teams:
            team.progress = queries.progress_of(
                round_, team.visited_count, team.target_count, today
            )
    totals = None
    if round_ is not None:
        totals = queries.progress_of(
            round_,
            sum(team.visited_count for team in teams),
            sum(team.target_count for team in teams),
            today,
        )
    return render(
        request,
        "visits/street.html",
        {"street": street, "round": round_, "teams": teams, "totals": totals},
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_new(request: HttpRequest, street_id: int) -> HttpResponse:
    street = members_queries.street_for(request.user, street_id)
    permissions.require_manage_teams(request.user, street)
    form = TeamForm(request.POST or None, street=street, user=request.user)
    return flows.form_response(
        request,
        form,
        lambda data: team_actions.team_create(
            actor=request.user,
            street=street,
            name=data["name"],
            leader=data["leader"],
            members=data["members"],
            communities=data["communities"],
        ),
        done=_("The team was formed."),
        to=lambda team: reverse("visits:team", args=[team.pk]),
        template="visits/team_new.html",
        context={"street": street},
        once=submissions.once_for(request.user),
    )


@login_required
@require_GET
def team(request: HttpRequest, team_id: int) -> HttpResponse:
    """A team's page: the round's households left and visited (searchable), its visits,
    members and compounds. The list alone when htmx asks for it."""
    team = queries.team_for(request.user, team_id)
    today = timezone.localdate()
    round_ = queries.current_round_of(team, today)
    search = request.GET.get("q", "").strip()[:50]
    left_only = request.GET.get("left") == "1"
    page = None
    progress = None
    if round_ is not None:
        page = keyset_page(
            queries.targets_of(team, round_, search=search, left=left_only),
            keys=TARGET_KEYS,
            cursor=request.GET.get("after", ""),
            size=PAGE_SIZE,
        )
        progress = queries.progress_of(round_, round_.team_visited, round_.team_target, today)
    context = {
        "team": team,
        "round": round_,
        "progress": progress,
        "page": page,
        "search": search,
        "left_only": left_only,
        "may_record": permissions.may_record_visit(request.user, team),
        "may_manage": permissions.may_manage_teams(request.user, team.street),
    }
    if request.htmx and request.htmx.target == "targets":
        return render(request, "visits/team.html#targets", context)
    pairings, history = queries.pairings_now_and_before(team)
    context.update(
        members=queries.current_members(team),
        pairings=pairings,
        history=history,
        visits=queries.visits_of(team)[:20],
        to_revisit=queries.return_tasks(team)[:50],
        asked=queries.asked_open_of(team)[:50],
    )
    return render(request, "visits/team.html", context)


@login_required
@require_GET
def visit_pick(request: HttpRequest, team_id: int) -> HttpResponse:
    """Which household: found by building, room or the resident's name."""
    team = queries.team_for(request.user, team_id)
    permissions.require_record_visit(request.user, team)
    search = request.GET.get("q", "").strip()[:50]
    matches = list(queries.search_households(team, search)[:PAGE_SIZE]) if search else []
    return render(
        request, "visits/visit_pick.html", {"team": team, "search": search, "matches": matches}
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request: HttpRequest, team_id: int) -> HttpResponse:
    """Record a visit from a phone: the household, the kind, who went, what was said, and
    each concern, which becomes a matter."""
    team = queries.team_for(request.user, team_id)
    permissions.require_record_visit(request.user, team)
    resident_id = request.POST.get("resident") or request.GET.get("resident", "")
    household = None
    if resident_id.isdigit():
        household = (
            queries.households_of(team)
            .select_related("community")
            .filter(pk=int(resident_id))
            .first()
        )
    if household is None:
        messages.error(request, _("This household is not in the team's compounds."))
        return redirect("visits:visit_pick", team_id=team.pk)
    data = request.POST or None
    form = VisitForm(data, team=team, initial={"resident": household.pk})
    concerns = ConcernFormSet(
        data, prefix="concern", form_kwargs={"community": household.community}
    )
    if request.method == "POST" and form.is_valid() and concerns.is_valid():
        wanted = [c.cleaned_data for c in concerns if c.cleaned_data]

        def create() -> str:
            visit = visiting.visit_record(
                actor=request.user,
                team=team,
                resident=form.cleaned_data["resident"],
                kind=form.cleaned_data["kind"],
                visited_on=form.cleaned_data["visited_on"],
                visitors=form.cleaned_data["visitors"],
                notes=form.cleaned_data["notes"],
                concerns=wanted,
            )
            return reverse("visits:visit", args=[visit.pk])

        try:
            url, first = submissions.submit_once(
                form.cleaned_data["submission_key"], request.user, create
            )
        except Refusal as refusal:
            form.add_error(None, str(refusal))
        else:
            if first:
                messages.success(request, _("The visit was recorded."))
            # The page after a visit tells the browser to forget its saved draft.
            return redirect(url + "?recorded=1")
    return render(
        request,
        "visits/visit_new.html",
        {"team": team, "household": household, "form": form, "concerns": concerns},
        status=422 if form.is_bound else 200,
    )


@login_required
@require_GET
def visit(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = queries.visit_for(request.user, visit_id)
    return render(
        request,
        "visits/visit.html",
        {
            "visit": visit,
            "team": visit.team,
            "visitors": visit.visitors.order_by("display_name", "username"),
            "concerns": visit.concerns.select_related("issue").order_by("id"),
        },
    )


@login_required
@require_POST
@never_cache
def household_phone(request: HttpRequest, team_id: int, resident_id: int) -> HttpResponse:
    """One household's full phone number for the team's members, on the record."""
    team = queries.team_for(request.user, team_id)
    permissions.require_record_visit(request.user, team)
    resident = queries.household_for(team, resident_id)
    phone = members_actions.phone_reveal(actor=request.user, resident=resident)
    return render(
        request,
        "visits/household_phone.html",
        {"team": team, "resident": resident, "full_phone": phone},
    )


@login_required
@require_POST
def building_visited(request: HttpRequest, team_id: int, target_id: int) -> HttpResponse:
    """A team member walked a building whose register is thin: the round counts it."""
    team = queries.team_for(request.user, team_id)
    permissions.require_record_visit(request.user, team)
    target = queries.building_target_for(team, target_id)
    return flows.action_response(
        request,
        lambda: round_actions.building_visited(
            actor=request.user, target=target, visited_on=timezone.localdate()
        ),
        done=_("The building was marked visited."),
        to=reverse("visits:team", args=[team.pk]),
    )
