"""The street admin's page for a team: members who join and leave, compounds paired and
unpaired. Every change dates a row, so the team's history stays."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common import flows
from members import submissions
from visits import permissions, queries
from visits.actions import teams as team_actions
from visits.forms import BuildingForm, MemberAddForm, PairingAddForm
from visits.models import Pairing, Team, TeamMember

TEMPLATE = "visits/team_edit.html"


def _team(request: HttpRequest, team_id: int) -> Team:
    team = queries.team_for(request.user, team_id)
    permissions.require_manage_teams(request.user, team.street)
    return team


def _context(request: HttpRequest, team: Team, **forms) -> dict:
    return {
        "team": team,
        "members": queries.current_members(team),
        "pairings": queries.open_pairings(team),
        "history": queries.pairing_history(team),
        "member_form": forms.get("member_form") or MemberAddForm(team=team, user=request.user),
        "pairing_form": forms.get("pairing_form") or PairingAddForm(team=team),
        "buildings": queries.buildings_of(team),
        "building_form": forms.get("building_form") or BuildingForm(team=team),
    }


@login_required
@require_GET
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id)
    return render(request, TEMPLATE, _context(request, team))


@login_required
@require_http_methods(["POST"])
def member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id)
    form = MemberAddForm(request.POST, team=team, user=request.user)
    return flows.form_response(
        request,
        form,
        lambda data: team_actions.team_member_add(
            actor=request.user,
            team=team,
            user=data["user"],
            kind=data["kind"],
            department=data["department"],
        ),
        done=_("The member joined the team."),
        to=reverse("visits:team_edit", args=[team.pk]),
        template=TEMPLATE,
        context=_context(request, team, member_form=form),
        once=submissions.once_for(request.user),
    )


@login_required
@require_POST
def member_leave(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    team = _team(request, team_id)
    membership = get_object_or_404(
        TeamMember.objects.select_related("team"), team=team, pk=membership_id
    )
    url = reverse("visits:team_edit", args=[team.pk])
    return flows.action_response(
        request,
        lambda: team_actions.team_member_leave(actor=request.user, membership=membership),
        done=_("The member left the team; the record of their work stays."),
        to=url,
    )


@login_required
@require_http_methods(["POST"])
def pairing_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id)
    form = PairingAddForm(request.POST, team=team)
    return flows.form_response(
        request,
        form,
        lambda data: team_actions.team_pair(
            actor=request.user,
            team=team,
            community=data["community"],
            lane=data["lane"],
            building=data["building"],
        ),
        done=_("The team was paired with the compound."),
        to=reverse("visits:team_edit", args=[team.pk]),
        template=TEMPLATE,
        context=_context(request, team, pairing_form=form),
        once=submissions.once_for(request.user),
    )


@login_required
@require_POST
def pairing_end(request: HttpRequest, team_id: int, pairing_id: int) -> HttpResponse:
    team = _team(request, team_id)
    pairing = get_object_or_404(Pairing, team=team, pk=pairing_id)
    return flows.action_response(
        request,
        lambda: team_actions.pairing_end(actor=request.user, pairing=pairing),
        done=_("The pairing ended; it stays in the team's history."),
        to=reverse("visits:team_edit", args=[team.pk]),
    )


@login_required
@require_http_methods(["POST"])
def building_set(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id)
    form = BuildingForm(request.POST, team=team)
    return flows.form_response(
        request,
        form,
        lambda data: team_actions.building_set(
            actor=request.user,
            team=team,
            community=data["community"],
            lane=data["lane"],
            building=data["building"],
            flats=data["flats"],
        ),
        done=_("The building's flats were saved; the next round counts them."),
        to=reverse("visits:team_edit", args=[team.pk]),
        template=TEMPLATE,
        context=_context(request, team, building_form=form),
        once=submissions.once_for(request.user),
    )
