"""Pages of volunteer teams, activities and service hours: scope → validate → action → render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common import files, flows
from common.qr import qr_svg
from issues import queries as issue_queries
from members import downloads as member_downloads
from members import queries as member_queries
from members import submissions
from volunteers import codes, exports, permissions, printouts, queries, statement
from volunteers.actions import activities, joins, ledger, matters
from volunteers.actions import teams as team_actions
from volunteers.forms import (
    ActivityForm,
    ActivityPhotosForm,
    CorrectionForm,
    ExchangeForm,
    MatterActivityForm,
    MemberForm,
    RuleForm,
    TeamForm,
    ThanksForm,
)
from volunteers.models import Team, Volunteer

# --- The volunteer's own page ----------------------------------------------------------


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """My teams, my next activities, my service time and what I exchanged it for."""
    volunteer = queries.volunteer_of(request.user)
    page = queries.volunteer_page(volunteer) if volunteer is not None else None
    return render(request, "volunteers/mine.html", {"page": page})


# --- A community's teams (staff) -------------------------------------------------------


@login_required
@require_GET
def teams(request: HttpRequest, community_id: int) -> HttpResponse:
    community = member_queries.community_for(request.user, community_id)
    permissions.require_see_volunteers(request.user, community)
    return render(
        request,
        "volunteers/teams.html",
        {
            "community": community,
            "teams": queries.teams_of(community),
            "rules": queries.rules_of(community),
            "can_manage": permissions.may_manage_teams(request.user, community),
            "can_export": permissions.may_export_ledger(request.user, community),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest, community_id: int) -> HttpResponse:
    community = member_queries.community_for(request.user, community_id)
    permissions.require_manage_teams(request.user, community)
    return flows.form_response(
        request,
        TeamForm(request.POST or None),
        lambda data: team_actions.team_create(
            community=community, name=data["name"], purpose=data["purpose"], actor=request.user
        ),
        done=lambda team: _("Team %(name)s was set up.") % {"name": team.name},
        to=lambda team: reverse("volunteers:team", args=[team.pk]),
        template="volunteers/team_form.html",
        context={"community": community},
        once=submissions.once_for(request.user),
    )


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest, community_id: int) -> HttpResponse:
    community = member_queries.community_for(request.user, community_id)
    permissions.require_manage_teams(request.user, community)
    return flows.form_response(
        request,
        RuleForm(request.POST or None),
        lambda data: ledger.rule_create(
            community=community, minutes=data["minutes"], gives=data["gives"], actor=request.user
        ),
        done=_("The exchange rule was added."),
        to=reverse("volunteers:teams", args=[community.pk]),
        template="volunteers/rule_form.html",
        context={"community": community},
        once=submissions.once_for(request.user),
    )


# --- A team ---------------------------------------------------------------------------


def _members_after(request: HttpRequest) -> tuple[str, int] | None:
    """Where the list of members goes on from (``?name=…&after=<id>``), if anywhere."""
    try:
        return request.GET["name"], int(request.GET["after"])
    except (KeyError, ValueError):
        return None


def _team_context(request: HttpRequest, team: Team) -> dict:
    can_manage = permissions.may_manage_teams(request.user, team.community)
    can_run = can_manage or permissions.leads(request.user, team)
    members = queries.members_page(team, after=_members_after(request))
    return {
        "team": team,
        "members": members.members,
        "members_from": _members_after(request),
        "more_members": (
            urlencode({"name": members.next_after[0], "after": members.next_after[1]})
            if members.next_after
            else ""
        ),
        "upcoming": queries.activities_of(team)[: queries.UPCOMING_SHOWN],
        "past": queries.past_activities_of(team)[:10],
        "can_manage": can_manage,
        "can_run": can_run,
        "can_see_people": permissions.may_see_volunteers(request.user, team.community),
        "join_requests": queries.join_requests_waiting(team) if can_run else (),
    }


@login_required
@require_GET
def team(request: HttpRequest, team_id: int) -> HttpResponse:
    team = queries.team_for(request.user, team_id)
    return render(request, "volunteers/team.html", _team_context(request, team))


@login_required
@require_http_methods(["GET", "POST"])
def member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    """A page of its own: the community's residents to choose from are many."""
    team = queries.team_for(request.user, team_id)
    permissions.require_manage_teams(request.user, team.community)
    form = MemberForm(request.POST or None, residents=queries.residents_not_in(team))
    return flows.form_response(
        request,
        form,
        lambda data: team_actions.team_add_member(
            team=team, resident=data["resident"], as_leader=data["as_leader"], actor=request.user
        ),
        done=lambda membership: (
            _("%(name)s joined the team.") % {"name": membership.volunteer.resident.name}
        ),
        to=reverse("volunteers:team", args=[team.pk]),
        template="volunteers/member_form.html",
        context={"team": team},
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_thanks(request: HttpRequest, pk: int) -> HttpResponse:
    """Whether a volunteer is thanked by name on the public page: said by the volunteer, or
    recorded by the community's staff."""
    membership = queries.membership_for(request.user, pk)
    permissions.require_set_thanks(request.user, membership)
    own = membership.volunteer_id == getattr(queries.volunteer_of(request.user), "pk", None)
    initial = {"thanks_consent": membership.thanks_consent, "thanks_name": membership.thanks_name}
    return flows.form_response(
        request,
        ThanksForm(request.POST or None, initial=initial),
        lambda data: team_actions.membership_thanks_set(
            membership=membership,
            consent=data["thanks_consent"],
            name=data["thanks_name"],
            actor=request.user,
        ),
        done=_("Saved."),
        to=reverse("volunteers:mine")
        if own
        else reverse("volunteers:team", args=[membership.team_id]),
        template="volunteers/thanks_form.html",
        context={"membership": membership},
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = queries.membership_for(request.user, pk)
    permissions.require_manage_teams(request.user, membership.team.community)
    return flows.action_response(
        request,
        lambda: team_actions.team_remove_member(membership=membership, actor=request.user),
        done=_("%(name)s left the team.") % {"name": membership.volunteer.resident.name},
        to=reverse("volunteers:team", args=[membership.team_id]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request: HttpRequest, team_id: int) -> HttpResponse:
    team = queries.team_for(request.user, team_id)
    permissions.require_run_team(request.user, team)
    return flows.form_response(
        request,
        ActivityForm(request.POST or None),
        lambda data: activities.activity_create(
            team=team,
            title=data["title"],
            place=data["place"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            headcount=data["headcount"],
            repeats=data["repeats"],
            until=data["until"],
            actor=request.user,
        ),
        done=lambda activity: _("%(title)s was planned.") % {"title": activity.title},
        to=lambda activity: reverse("volunteers:activity", args=[activity.pk]),
        template="volunteers/activity_form.html",
        context={"team": team},
        once=submissions.once_for(request.user),
    )


# --- An activity ------------------------------------------------------------------------


def _activity_context(request: HttpRequest, activity) -> dict:
    volunteer = queries.volunteer_of(request.user)
    can_run = permissions.may_run_activity(request.user, activity)
    context = {
        "activity": activity,
        "mine": queries.attendance_of(activity, volunteer),
        "can_take_part": permissions.may_take_part(request.user, activity.team),
        "can_run": can_run,
        "attendances": queries.attendances_of(activity) if can_run else [],
        "photos": queries.photos_of(activity),
        # The community's staff and the street's admins open the matter; a leader may not.
        "can_open_matter": permissions.may_see_volunteers(request.user, activity.team.community),
    }
    if can_run:
        link = request.build_absolute_uri(codes.sign_in_path(activity))
        context["sign_in_link"] = link
        context["sign_in_qr"] = qr_svg(link)
        context["photo_form"] = ActivityPhotosForm()
    return context


@login_required
@require_GET
def activity(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = queries.activity_for(request.user, activity_id)
    return render(request, "volunteers/activity.html", _activity_context(request, activity))


@login_required
@require_POST
def sign_up(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = queries.activity_for(request.user, activity_id)
    permissions.require_take_part(request.user, activity.team)
    volunteer = queries.volunteer_of(request.user)
    here = reverse("volunteers:activity", args=[activity.pk])
    return flows.action_response(
        request,
        lambda: activities.activity_sign_up(
            activity=activity, volunteer=volunteer, actor=request.user
        ),
        done=_("You are signed up."),
        to=here,
    )


@login_required
@require_http_methods(["GET", "POST"])
def code(request: HttpRequest, activity_id: int, code: str) -> HttpResponse:
    """Where the activity's QR code leads: the volunteer signs in, and later out."""
    activity = queries.activity_for(request.user, activity_id)
    if not codes.code_matches(activity, code):
        raise Http404
    volunteer = queries.volunteer_of(request.user)
    if request.method == "POST":
        permissions.require_take_part(request.user, activity.team)
        return flows.action_response(
            request,
            lambda: activities.attend_by_code(
                activity=activity, volunteer=volunteer, actor=request.user
            ),
            done=lambda attendance: (
                _("You are signed out. Thank you!")
                if attendance.signed_out_at
                else _("You are signed in.")
            ),
            to=request.path,
        )
    return render(
        request,
        "volunteers/code.html",
        {
            "activity": activity,
            "mine": queries.attendance_of(activity, volunteer),
            "can_take_part": permissions.may_take_part(request.user, activity.team),
        },
    )


def _attendance_action(request: HttpRequest, pk: int, act, done: str) -> HttpResponse:
    attendance = queries.attendance_for(request.user, pk)
    permissions.require_run_activity(request.user, attendance.activity)
    return flows.action_response(
        request,
        lambda: act(attendance=attendance, actor=request.user),
        done=done % {"name": attendance.volunteer.resident.name},
        to=reverse("volunteers:activity", args=[attendance.activity_id]) + f"#a{pk}",
    )


@login_required
@require_POST
def sign_in(request: HttpRequest, pk: int) -> HttpResponse:
    return _attendance_action(
        request, pk, activities.attendance_sign_in, _("%(name)s is signed in.")
    )


@login_required
@require_POST
def sign_out(request: HttpRequest, pk: int) -> HttpResponse:
    return _attendance_action(
        request, pk, activities.attendance_sign_out, _("%(name)s is signed out.")
    )


@login_required
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _attendance_action(
        request, pk, activities.attendance_confirm, _("The service time of %(name)s is confirmed.")
    )


# --- Requests to join from the public page ----------------------------------------------


def _join_answer(request: HttpRequest, pk: int, act, done: str) -> HttpResponse:
    join = queries.join_request_for(request.user, pk)
    permissions.require_run_team(request.user, join.team)
    return flows.action_response(
        request,
        lambda: act(join=join, actor=request.user),
        done=done % {"name": join.name},
        to=reverse("volunteers:team", args=[join.team_id]) + "#joins",
    )


@login_required
@require_POST
def join_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _join_answer(request, pk, joins.join_request_accept, _("%(name)s joined the team."))


@login_required
@require_POST
def join_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _join_answer(
        request, pk, joins.join_request_decline, _("The request of %(name)s was declined.")
    )


# --- A volunteer's hours (staff) --------------------------------------------------------


def _volunteer_context(request: HttpRequest, volunteer: Volunteer) -> dict:
    community = volunteer.resident.community
    can_approve = permissions.may_approve_exchanges(request.user, community)
    return {
        "volunteer": volunteer,
        "community": community,
        "minutes": queries.balance_minutes(volunteer),
        "ledger": queries.ledger_of(volunteer)[:50],
        "exchanges": queries.exchanges_of(volunteer)[:20],
        "years": queries.service_years(volunteer),
        "can_approve": can_approve,
    }


@login_required
@require_GET
def volunteer(request: HttpRequest, volunteer_id: int) -> HttpResponse:
    volunteer = queries.volunteer_for(request.user, volunteer_id)
    context = _volunteer_context(request, volunteer)
    if context["can_approve"]:
        context["exchange_form"] = ExchangeForm(rules=queries.rules_of(context["community"]))
        context["correction_form"] = CorrectionForm()
    return render(request, "volunteers/volunteer.html", context)


@login_required
@require_POST
def exchange(request: HttpRequest, volunteer_id: int) -> HttpResponse:
    volunteer = queries.volunteer_for(request.user, volunteer_id)
    context = _volunteer_context(request, volunteer)
    permissions.require_approve_exchanges(request.user, context["community"])
    form = ExchangeForm(request.POST, rules=queries.rules_of(context["community"]))
    return flows.form_response(
        request,
        form,
        lambda data: ledger.exchange_make(
            volunteer=volunteer,
            rule=data["rule"],
            quantity=data["quantity"],
            note=data["note"],
            actor=request.user,
        ),
        done=lambda exchange: (
            _("%(minutes)s minutes were exchanged for %(gives)s.")
            % {"minutes": exchange.minutes, "gives": exchange.gives}
        ),
        to=reverse("volunteers:volunteer", args=[volunteer.pk]),
        template="volunteers/volunteer.html",
        context={**context, "exchange_form": form, "correction_form": CorrectionForm()},
        once=submissions.once_for(request.user),
    )


@login_required
@require_POST
def correction(request: HttpRequest, volunteer_id: int) -> HttpResponse:
    volunteer = queries.volunteer_for(request.user, volunteer_id)
    context = _volunteer_context(request, volunteer)
    permissions.require_approve_exchanges(request.user, context["community"])
    form = CorrectionForm(request.POST)
    return flows.form_response(
        request,
        form,
        lambda data: ledger.correction_record(
            volunteer=volunteer, minutes=data["minutes"], note=data["note"], actor=request.user
        ),
        done=_("The correction was recorded."),
        to=reverse("volunteers:volunteer", args=[volunteer.pk]),
        template="volunteers/volunteer.html",
        context={
            **context,
            "correction_form": form,
            "exchange_form": ExchangeForm(rules=queries.rules_of(context["community"])),
        },
        once=submissions.once_for(request.user),
    )


# --- Printable statements -----------------------------------------------------------------


def _year(request: HttpRequest) -> int:
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year", this_year))
    except ValueError:
        return this_year
    return year if 2000 <= year <= this_year else this_year


def _printout_response(request: HttpRequest, volunteer: Volunteer, kind: str) -> HttpResponse:
    """The PDF once it is made; until then a page that asks again in a moment."""
    year = _year(request)
    pdf = printouts.printout(volunteer, kind, year)
    if pdf is None:
        response = render(
            request,
            "volunteers/printout_wait.html",
            {"volunteer": volunteer, "year": year, "kind": kind, "again": request.get_full_path()},
            status=202,
        )
    else:
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = statement.content_disposition(volunteer, year, kind)
    response["Cache-Control"] = "private, no-store"
    return response


def _own(request: HttpRequest) -> Volunteer:
    volunteer = queries.volunteer_of(request.user)
    if volunteer is None:
        raise Http404
    return volunteer


@login_required
@require_GET
def my_statement(request: HttpRequest) -> HttpResponse:
    """The volunteer's own statement of a year (PDF)."""
    return _printout_response(request, _own(request), "statement")


@login_required
@require_GET
def statement_pdf(request: HttpRequest, volunteer_id: int) -> HttpResponse:
    """A volunteer's statement of a year, printed by the community's staff (PDF)."""
    volunteer = queries.volunteer_for(request.user, volunteer_id)
    return _printout_response(request, volunteer, "statement")


# --- Work from matters ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def matter_activity_create(request: HttpRequest, issue_id: int) -> HttpResponse:
    """Plan a team's activity for a matter the council decided residents solve themselves."""
    issue = issue_queries.issue_for(request.user, issue_id)
    permissions.require_manage_teams(request.user, issue.community)
    if not matters.decided_for_residents(issue):
        raise Http404
    teams = queries.teams_of(issue.community)
    initial = {"title": issue.title[:100], "place": (issue.place or "")[:100], "headcount": 3}
    return flows.form_response(
        request,
        MatterActivityForm(request.POST or None, teams=teams, initial=initial),
        lambda data: activities.activity_create(
            team=data["team"],
            title=data["title"],
            place=data["place"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            headcount=data["headcount"],
            issue=issue,
            actor=request.user,
        ),
        done=lambda activity: _("%(title)s was planned.") % {"title": activity.title},
        to=lambda activity: reverse("volunteers:activity", args=[activity.pk]),
        template="volunteers/matter_activity_form.html",
        context={"issue": issue},
        once=submissions.once_for(request.user),
    )


@login_required
@require_POST
def activity_close(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = queries.activity_for(request.user, activity_id)
    permissions.require_run_activity(request.user, activity)
    return flows.action_response(
        request,
        lambda: activities.activity_close(activity=activity, actor=request.user),
        done=(
            _("The activity is closed and its work is reported on the matter.")
            if activity.issue_id
            else _("The activity is closed.")
        ),
        to=reverse("volunteers:activity", args=[activity.pk]),
    )


@login_required
@require_POST
def activity_photos(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = queries.activity_for(request.user, activity_id)
    permissions.require_run_activity(request.user, activity)
    form = ActivityPhotosForm(request.POST, request.FILES)
    return flows.form_response(
        request,
        form,
        lambda data: activities.activity_photos_add(
            activity=activity, actor=request.user, uploads=data["photos"]
        ),
        done=lambda stored: _("%(n)s photos were added.") % {"n": len(stored)},
        to=reverse("volunteers:activity", args=[activity.pk]) + "#photos",
        template="volunteers/activity.html",
        context={**_activity_context(request, activity), "photo_form": form},
    )


@login_required
@require_GET
def my_certificate(request: HttpRequest) -> HttpResponse:
    """The volunteer's own certificate of a year's service hours (PDF)."""
    return _printout_response(request, _own(request), "certificate")


@login_required
@require_GET
def activity_photo(request: HttpRequest, activity_id: int, photo_id: int) -> FileResponse:
    """An activity's photo, only for those who see the activity (it can show people)."""
    found = queries.activity_photo_for(request.user, activity_id, photo_id)
    response = files.stored_file_response(found.image, content_type="image/jpeg", what="photo")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def certificate_pdf(request: HttpRequest, volunteer_id: int) -> HttpResponse:
    """A volunteer's certificate of a year's service hours, printed by staff (PDF)."""
    volunteer = queries.volunteer_for(request.user, volunteer_id)
    return _printout_response(request, volunteer, "certificate")


# --- The ledger as a workbook (staff) -------------------------------------------------------


@login_required
@require_GET
def ledger_xlsx(request: HttpRequest, community_id: int) -> HttpResponseBase:
    """The community's service-hours ledger and balances as XLSX, for its staff."""
    community = member_queries.community_for(request.user, community_id)
    permissions.require_export_ledger(request.user, community)
    return member_downloads.export_download(
        actor=request.user,
        kind="volunteer_ledger",
        format="xlsx",
        filters={"community": community.pk},
        name=("service-hours", _("Service-hours ledger")),
        sheets=[
            member_downloads.Sheet(
                _("Service-hours ledger"), exports.ledger_headers, exports.ledger_rows(community)
            ),
            member_downloads.Sheet(
                _("Balances"), exports.balance_headers, exports.balance_rows(community)
            ),
        ],
    )
