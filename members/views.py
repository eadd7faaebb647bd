from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from common import flows
from common.paging import keyset_page
from members import (
    actions,
    display,
    downloads,
    exports,
    extensions,
    notifications,
    permissions,
    queries,
    submissions,
)
from members.forms import (
    CouncilMemberForm,
    CouncilMemberJoinForm,
    CouncilMemberLeaveForm,
    CouncilSettingsForm,
    DeactivateResidentForm,
    OutsideUnitForm,
    ResidentForm,
)
from members.models import Community, CouncilMember

PAGE_SIZE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to the page their main role starts from."""
    user = request.user
    scope = queries.scope_of(user)  # where those pages are
    if permissions.may_act_as_community_staff(user):
        if len(scope.staff_community_ids) == 1:
            (community_id,) = scope.staff_community_ids
            return redirect("members:residents", community_id=community_id)
        return redirect("members:my_communities")
    if permissions.may_act_as_street_admin(user):
        return redirect("members:street", street_id=min(scope.admin_street_ids))
    if permissions.may_act_as_council_member(user):
        # In elder mode a member starts from four large tiles (a page of the meetings app).
        return redirect("meetings:member_home" if user.elder_mode else "members:me")
    if permissions.may_act_as_department_handler(user):
        return redirect("issues:work")
    page = extensions.start_page(user)  # a team of the visits app, for one
    if page:
        return redirect(page)
    page = extensions.guest_start_page(user)  # a cadre invited to meetings
    if page:
        return redirect(page)
    volunteering = extensions.volunteering(user)
    if volunteering is not None:  # a volunteer with no other role starts from their page
        return redirect(volunteering.url)
    return render(request, "members/no_role.html", status=403)


@login_required
def my_communities(request: HttpRequest) -> HttpResponse:
    communities = queries.communities_visible_to(request.user).select_related("street")
    return render(request, "members/my_communities.html", {"communities": communities})


@login_required
def street(request: HttpRequest, street_id: int) -> HttpResponse:
    street = queries.street_for(request.user, street_id)
    communities = list(queries.communities_with_counts(request.user, street))
    by_community, review_totals = extensions.review_figures_with_total(
        request.user, [c.pk for c in communities]
    )
    for community in communities:
        community.review_figures = by_community[community.pk]
    totals = {
        "residents": sum(c.resident_count for c in communities),
        "members": sum(c.member_count for c in communities),
    }
    return render(
        request,
        "members/street.html",
        {
            "street": street,
            "communities": communities,
            "totals": totals,
            "review_totals": review_totals,
        },
    )


@login_required
def me(request: HttpRequest) -> HttpResponse:
    memberships = list(queries.current_memberships_of(request.user))
    if memberships:
        by_community = extensions.review_figures(
            request.user, [m.council.community_id for m in memberships]
        )
        for membership in memberships:
            membership.review_figures = by_community[membership.council.community_id]
    return render(
        request,
        "members/me.html",
        {"memberships": memberships, "volunteering": extensions.volunteering(request.user)},
    )


# --- Residents -----------------------------------------------------------------------


@login_required
@require_GET
def residents(request: HttpRequest, community_id: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    permissions.require_see_residents(request.user, community)
    search = request.GET.get("q", "").strip()[:50]
    show_inactive = request.GET.get("inactive") == "1"
    page = keyset_page(
        queries.residents_of(
            request.user, community, search=search, include_inactive=show_inactive
        ),
        keys=("name", "id"),
        cursor=request.GET.get("after", ""),
        size=PAGE_SIZE,
    )
    context = {
        "community": community,
        "page": page,
        "search": search,
        "show_inactive": show_inactive,
        "can_manage": permissions.may_manage_residents(request.user, community),
    }
    template = "members/residents.html"
    if request.htmx and request.htmx.target == "more-rows":
        template += "#rows"
    elif request.htmx:
        template += "#results"
    else:  # the figures stand above the results, which htmx swaps alone
        context["review_figures"] = _community_review_figures(request, community)
    return render(request, template, context)


def _community_review_figures(request: HttpRequest, community: Community):
    return extensions.review_figures(request.user, [community.pk])[community.pk]


@login_required
@sensitive_post_parameters("phone")
@require_http_methods(["GET", "POST"])
def resident_create(request: HttpRequest, community_id: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    permissions.require_manage_residents(request.user, community)
    form = ResidentForm(request.POST or None)
    return flows.form_response(
        request,
        form,
        lambda data: actions.resident_create(
            actor=request.user, community=community, **form.resident_fields()
        ),
        done=lambda resident: _("%(name)s was added.") % {"name": resident.name},
        to=reverse("members:residents", args=[community.pk]),
        template="members/resident_form.html",
        context={"community": community},
        once=submissions.once_for(request.user),
    )


@login_required
@sensitive_post_parameters("phone")
@require_http_methods(["GET", "POST"])
def resident_edit(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    permissions.require_see_residents(request.user, community)
    resident = queries.resident_for(request.user, community, pk)
    permissions.require_manage_residents(request.user, community)
    form = ResidentForm(request.POST or None, instance=resident)
    return flows.form_response(
        request,
        form,
        lambda data: actions.resident_update(
            actor=request.user,
            resident=resident,
            expected_version=data["version"],
            **form.resident_fields(),
        ),
        done=_("The changes were saved."),
        to=reverse("members:residents", args=[community.pk]),
        template="members/resident_form.html",
        context={"community": community, "resident": resident},
    )


@login_required
@require_http_methods(["GET", "POST"])
def resident_deactivate(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    permissions.require_see_residents(request.user, community)
    resident = queries.resident_for(request.user, community, pk)
    permissions.require_manage_residents(request.user, community)
    return flows.form_response(
        request,
        DeactivateResidentForm(request.POST or None),
        lambda data: actions.resident_deactivate(
            actor=request.user, resident=resident, reason=data["reason"]
        ),
        done=_("%(name)s is now inactive.") % {"name": resident.name},
        to=reverse("members:residents", args=[community.pk]),
        template="members/resident_deactivate.html",
        context={"community": community, "resident": resident},
    )


@login_required
@require_POST
def resident_reactivate(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    permissions.require_see_residents(request.user, community)
    resident = queries.resident_for(request.user, community, pk)
    permissions.require_manage_residents(request.user, community)
    try:
        actions.resident_reactivate(actor=request.user, resident=resident)
    except actions.ActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("%(name)s is active again.") % {"name": resident.name})
    return redirect(reverse("members:residents", args=[community.pk]) + "?inactive=1")


@login_required
@require_POST
@never_cache
def resident_phone(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    """Show one full phone number, on purpose and on the record."""
    community = queries.community_for(request.user, community_id)
    permissions.require_see_residents(request.user, community)
    resident = queries.resident_for(request.user, community, pk)
    permissions.require_see_full_phones(request.user, community)
    phone = actions.phone_reveal(actor=request.user, resident=resident)
    context = {"community": community, "resident": resident, "full_phone": phone}
    if request.htmx:
        return render(request, "members/residents.html#phone", context)
    return render(request, "members/resident_phone.html", context)


# --- Council members --------------------------------------------------------------------


@login_required
@require_GET
def council(request: HttpRequest, community_id: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    council = queries.council_of(community)
    show_former = request.GET.get("former") == "1"
    members = list(queries.council_members_of(council, include_former=show_former))
    return render(
        request,
        "members/council.html",
        {
            "community": community,
            "council": council,
            "members": members,
            "show_former": show_former,
            "can_manage": permissions.may_manage_council(request.user, community),
            "can_change_settings": permissions.may_change_council_settings(request.user, community),
            "can_export": permissions.may_export_roster(request.user, community),
            "review_figures": _community_review_figures(request, community),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def council_settings(request: HttpRequest, community_id: int) -> HttpResponse:
    """The council's settings: its quorum, when sign-in opens, whether votes are by name,
    and when a resolved matter's follow-up review is due."""
    community = queries.community_for(request.user, community_id)
    permissions.require_change_council_settings(request.user, community)
    council = queries.council_of(community)
    return flows.form_response(
        request,
        CouncilSettingsForm(request.POST or None, instance=council),
        lambda data: actions.council_settings_save(actor=request.user, council=council, **data),
        done=_("The council's settings were saved."),
        to=reverse("members:council", args=[community.pk]),
        template="members/council_settings.html",
        context={"community": community, "council": council},
    )


@login_required
@require_http_methods(["GET", "POST"])
def council_member_join(request: HttpRequest, community_id: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    permissions.require_manage_council(request.user, community)
    council = queries.council_of(community)

    def join(data: dict) -> CouncilMember:
        data = dict(data)
        data.pop("submission_key", None)
        return actions.council_member_join(
            actor=request.user,
            council=council,
            resident=data.pop("resident"),
            joined_on=data.pop("joined_on"),
            **data,
        )

    return flows.form_response(
        request,
        CouncilMemberJoinForm(request.POST or None, community=community),
        join,
        done=lambda member: _("%(name)s joined the council.") % {"name": member.resident.name},
        to=reverse("members:council", args=[community.pk]),
        template="members/council_member_form.html",
        context={"community": community, "council": council},
        once=submissions.once_for(request.user),
    )


@login_required
@require_http_methods(["GET", "POST"])
def council_member_edit(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    member = queries.council_member_for(request.user, community, pk)
    permissions.require_manage_council(request.user, community)
    form = CouncilMemberForm(request.POST or None, instance=member)
    return flows.form_response(
        request,
        form,
        lambda data: actions.council_member_update(
            actor=request.user,
            member=member,
            expected_version=data["version"],
            **form.member_fields(),
        ),
        done=_("The changes were saved."),
        to=reverse("members:council", args=[community.pk]),
        template="members/council_member_form.html",
        context={"community": community, "council": member.council, "member": member},
    )


@login_required
@require_http_methods(["GET", "POST"])
def council_member_leave(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    community = queries.community_for(request.user, community_id)
    member = queries.council_member_for(request.user, community, pk)
    permissions.require_manage_council(request.user, community)
    return flows.form_response(
        request,
        CouncilMemberLeaveForm(request.POST or None, member=member),
        lambda data: actions.council_member_leave(
            actor=request.user, member=member, left_on=data["left_on"], reason=data["reason"]
        ),
        done=_("%(name)s has left the council.") % {"name": member.resident.name},
        to=reverse("members:council", args=[community.pk]),
        template="members/council_member_leave.html",
        context={"community": community, "member": member},
    )


# --- Notices ------------------------------------------------------------------------------


@login_required
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    page = keyset_page(
        queries.inbox_of(request.user).order_by(),
        keys=("-created", "-id"),
        cursor=request.GET.get("after", ""),
        size=PAGE_SIZE,
    )
    items = [(notice, *notifications.render(notice)) for notice in page.rows]
    return render(request, "members/notices.html", {"page": page, "items": items})


@login_required
@require_GET
@never_cache
def notice_open(request: HttpRequest, pk: int) -> HttpResponse:
    """A notice's link, from the inbox or a text message: the notice is read, and the
    reader goes on to what it is about (404 when that is no longer theirs to see).

    Reading is what this GET means, so it marks the reader's own notice read: nothing else
    changes, and opening it again changes nothing."""
    notice = queries.notice_for(request.user, pk)
    notifications.notice_mark_opened(actor=request.user, notice=notice)
    return redirect(notifications.target_of(request.user, notice))


@login_required
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    notifications.mark_read(actor=request.user)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("members:notices"))
    return redirect("members:notices")


class LoginView(auth_views.LoginView):
    """Django's login page; 长辈版 chosen on it before logging in is kept for the account."""

    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if display.elder_mode_of_device(self.request) and not user.elder_mode:
            actions.user_set_elder_mode(actor=user, on=True)
        return response


class LogoutView(auth_views.LogoutView):
    """Django's logout; the browser is told to forget what this site stored on it.

    On a shared office computer the drafts a person typed (names and phones of residents,
    kept in localStorage and IndexedDB) must not wait for the next person. The
    ``Clear-Site-Data`` header wipes them without any script; the login page the person
    lands on clears them too, for browsers that ignore the header.
    """

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"storage"'
        return response


@require_POST
def elder_mode(request: HttpRequest) -> HttpResponse:
    """The header's 长辈版 switch: turn elder mode on or off and return to the same page.

    Kept on the account when logged in, and on the device (a cookie) in any case, so the
    public pages and the login page remember it too.
    """
    on = not display.elder_mode_of(request)
    if request.user.is_authenticated:
        actions.user_set_elder_mode(actor=request.user, on=on)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("home")
    response = HttpResponseClientRedirect(back) if request.htmx else redirect(back)
    return display.remember_on_device(response, on=on)


# --- Roster exports --------------------------------------------------------------------------


def _roster_export(request: HttpRequest, community_id: int, format: str) -> HttpResponseBase:
    """The council of a community the user may see, as a file, phone numbers masked.

    Staff of the community and admins of its street export the roster (they see its
    residents); a council member may see the page but not export it (403); another
    community is 404.
    """
    community = queries.community_for(request.user, community_id)
    permissions.require_export_roster(request.user, community)
    council = queries.council_of(community)
    former = request.GET.get("former") == "1"
    members = list(queries.council_members_of(council, include_former=former))
    return downloads.export_download(
        actor=request.user,
        kind="roster",
        format=format,
        filters={"community": community.pk, **({"former": True} if former else {})},
        name=("council", _("Council members")),
        sheets=[
            downloads.Sheet(_("Council members"), exports.headers, exports.roster_rows(members))
        ],
    )


@login_required
@require_GET
def council_export_csv(request: HttpRequest, community_id: int) -> HttpResponseBase:
    """The council's members as CSV, phone numbers masked."""
    return _roster_export(request, community_id, "csv")


@login_required
@require_GET
def council_export_xlsx(request: HttpRequest, community_id: int) -> HttpResponseBase:
    """The council's members as XLSX, phone numbers masked."""
    return _roster_export(request, community_id, "xlsx")


# --- Units based in the area ------------------------------------------------------------


@login_required
@sensitive_post_parameters("phone")
@require_http_methods(["GET", "POST"])
def units(request: HttpRequest, community_id: int) -> HttpResponse:
    """The units based in the community (驻地单位), their contacts' phones masked; staff add one."""
    community = queries.community_for(request.user, community_id)
    permissions.require_manage_residents(request.user, community)
    form = OutsideUnitForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                unit = actions.unit_add(
                    actor=request.user, community=community, **form.cleaned_data
                )
            except actions.ActionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("%(name)s was added.") % {"name": unit.name})
                return redirect("members:units", community_id=community.pk)
        status = 422
    context = {"community": community, "units": list(queries.units_of(community)), "form": form}
    return render(request, "members/units.html", context, status=status)


@login_required
@require_POST
@never_cache
def unit_phone(request: HttpRequest, community_id: int, pk: int) -> HttpResponse:
    """Show one unit contact's full phone number, on purpose and on the record."""
    community = queries.community_for(request.user, community_id)
    permissions.require_manage_residents(request.user, community)
    unit = queries.unit_for(community, pk)
    phone = actions.unit_phone_reveal(actor=request.user, unit=unit)
    context = {"community": community, "unit": unit, "full_phone": phone}
    if request.htmx:
        return render(request, "members/units.html#phone", context)
    return render(request, "members/unit_phone.html", context)
