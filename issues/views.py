from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.paging import keyset_page
from issues import exports, extensions, lifecycle, permissions, queries, reviews
from issues.actions import escalations, handling, intake, upkeep
from issues.events import IssueActionError
from issues.forms import (
    AssignForm,
    CategoryForm,
    CommentForm,
    EditForm,
    EscalateForm,
    InboxFilterForm,
    IntakeForm,
    PhotoForm,
    ReportForm,
    TransitionForm,
)
from issues.models import Category, Escalation, Issue
from issues.review_forms import StaffRatingForm
from members import downloads
from members import queries as member_queries
from members.models import Community, CouncilMember, User

PAGE_SIZE = 30
REFUSALS = (IssueActionError, lifecycle.TransitionRefused, ValidationError)


def refusal_message(error: Exception) -> str:
    """What a refusal caught as one of ``REFUSALS`` says to the person."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


# --- Inbox and lists -----------------------------------------------------------------


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    form = _inbox_filter_form(request, request.GET or None)
    filters = queries.InboxFilters()
    if form.is_bound and form.is_valid():
        filters = _inbox_filters(form)
    page = keyset_page(
        queries.inbox(request.user, filters),
        keys=("-created", "-id"),
        cursor=request.GET.get("after", ""),
        size=PAGE_SIZE,
    )
    # "Show more" renders only the rows: it needs no counts.
    more = bool(request.htmx and request.htmx.target == "more-issues")
    counts = {} if more else queries.status_counts(request.user, filters)
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "form": form,
        "page": page,
        "counts": [(value, label, counts.get(value, 0)) for value, label in Issue.Status.choices],
        "total": sum(counts.values()),
        "query": query.urlencode(),
        "status_query": _without(query, "status"),
        "today": timezone.localdate(),
    }
    template = "issues/inbox.html"
    if more:
        template += "#rows"
    elif request.htmx:
        template += "#results"
    return render(request, template, context)


def _inbox_filter_form(request: HttpRequest, data: QueryDict | None) -> InboxFilterForm:
    """The inbox's filters over the communities the user sees; 403 for those with no inbox."""
    permissions.require_use_inbox(request.user)
    communities = member_queries.communities_visible_to(request.user).order_by("name")
    street_ids = set(member_queries.scope_of(request.user).admin_street_ids) | set(
        communities.values_list("street_id", flat=True).distinct()
    )
    return InboxFilterForm(data, communities=communities, street_ids=street_ids)


def _inbox_filters(form: InboxFilterForm) -> queries.InboxFilters:
    data = form.cleaned_data
    return queries.InboxFilters(
        status=data["status"],
        category=data["category"].pk if data["category"] else None,
        tier=data["tier"],
        channel=data["channel"],
        community=data["community"].pk if data["community"] else None,
        street=int(data["street"]) if data["street"] else None,
        state=data["state"],
        overdue=data["overdue"],
        mine=data["mine"],
        since=data["since"],
        until=data["until"],
        resolved_since=data["resolved_since"],
        resolved_until=data["resolved_until"],
        review=data["review"],
        q=data["q"],
    )


def _without(query: QueryDict, key: str) -> str:
    copy = query.copy()
    copy.pop(key, None)
    return copy.urlencode()


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    page = keyset_page(
        queries.reported_or_assigned(request.user),
        keys=("-created", "-id"),
        cursor=request.GET.get("after", ""),
        size=PAGE_SIZE,
    )
    memberships = list(member_queries.current_memberships_of(request.user))
    return render(
        request,
        "issues/mine.html",
        {"page": page, "memberships": memberships, "today": timezone.localdate()},
    )


# --- Reporting ----------------------------------------------------------------------------


@login_required
@sensitive_post_parameters("contact_phone")
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, community_id: int) -> HttpResponse:
    """Council members report from a phone; staff enter matters from every channel."""
    community = member_queries.community_for(request.user, community_id)
    permissions.require_report_issue(request.user, community)
    is_staff = permissions.may_take_in_issue(request.user, community)
    form_class = IntakeForm if is_staff else ReportForm
    form = form_class(request.POST or None, request.FILES or None, community=community)
    if request.method == "POST" and form.is_valid():
        try:
            if is_staff:
                issue = intake.issue_intake(
                    actor=request.user, community=community, **form.intake_fields()
                )
            else:
                issue = intake.issue_report(
                    actor=request.user,
                    community=community,
                    channel=Issue.Channel.PATROL,
                    reporter=_term_on_council(request.user, community).resident,
                    **form.report_fields(),
                )
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            messages.success(request, _("The issue was recorded. Thank you."))
            # The page after a report tells the browser to forget its saved draft.
            return redirect(reverse("issues:detail", args=[issue.pk]) + "?reported=1")
    return render(
        request,
        "issues/report.html",
        {"community": community, "form": form, "is_staff": is_staff},
        status=422 if form.is_bound else 200,
    )


def _term_on_council(user: User, community: Community) -> CouncilMember:
    """The reporting council member's current term on the community's council."""
    memberships = member_queries.current_memberships_of(user)
    return memberships.filter(council__community=community).select_related("resident").first()


# --- One issue ---------------------------------------------------------------------------


def _detail(request: HttpRequest, issue: Issue, *, status: int = 200, **bound) -> HttpResponse:
    """The issue page, with any form that failed shown again with what was typed."""
    user = request.user
    can_handle = permissions.may_handle_issue(user, issue)
    version = {"version": issue.version}
    forms = {}
    if can_handle:
        forms = {
            "transition_form": TransitionForm(initial=version),
            "assign_form": AssignForm(
                initial={
                    **version,
                    "members": list(issue.assigned_members.all()),
                    "staff": issue.assigned_staff,
                    "due_on": issue.due_on,
                },
                issue=issue,
            ),
            "escalate_form": EscalateForm(initial=version),
        }
    review = queries.latest_review(issue)
    if (
        permissions.may_rate_issue(user, issue)
        and review is not None
        and not hasattr(review, "rating")
    ):
        forms["rating_form"] = StaffRatingForm()
    if permissions.may_comment_on_issue(user, issue):
        forms["comment_form"] = CommentForm()
        forms["photo_form"] = PhotoForm()
    forms.update(bound)
    context = {
        "issue": issue,
        "events": list(queries.timeline(issue)),
        "photos": list(queries.photos_of(issue)),
        "assigned_members": list(issue.assigned_members.select_related("resident")),
        "escalation": issue.escalations.filter(state__in=Escalation.OPEN_STATES).first(),
        "review": review,
        "transitions": lifecycle.available(issue) if can_handle else [],
        "can_handle": can_handle,
        "can_escalate": permissions.may_escalate_issue(user, issue)
        and issue.is_open
        and issue.tier in (Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY),
        "today": timezone.localdate(),
        "convene_form": extensions.convene_form(user, issue),
        **forms,
    }
    return render(request, "issues/detail.html", context, status=status)


def _refresh_version(form, issue: Issue):
    """After a refusal the form keeps what was typed but carries the current version."""
    data = form.data.copy()
    data["version"] = str(issue.version)
    form.data = data
    return form


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, queries.issue_for(request.user, pk))


def _run_from_issue_page(request, pk, *, require, form_name, make_form, perform) -> HttpResponse:
    """Validate a form posted from the issue page and run its action.

    ``require`` is the permission the action needs (403 for those who see the issue only).
    On success, back to the issue; on a refusal, the issue page again with the
    form as typed, carrying the current version so a second send can go through.
    """
    issue = queries.issue_for(request.user, pk)
    require(request.user, issue)
    form = make_form(issue)
    if form.is_valid():
        try:
            message = perform(issue, form.cleaned_data)
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            messages.success(request, message)
            return redirect("issues:detail", pk=issue.pk)
    issue = queries.issue_for(request.user, pk)
    return _detail(request, issue, status=422, **{form_name: _refresh_version(form, issue)})


@login_required
@require_POST
def transition(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(issue: Issue, data: dict) -> str:
        handling.issue_transition(
            issue=issue,
            actor=request.user,
            name=data["name"],
            note=data["note"],
            expected_version=data["version"],
        )
        return _("The status was changed.")

    return _run_from_issue_page(
        request,
        pk,
        require=permissions.require_handle_issue,
        form_name="transition_form",
        make_form=lambda issue: TransitionForm(request.POST),
        perform=perform,
    )


@login_required
@require_POST
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff record a rating the resident gave in person or on the phone."""

    def perform(issue: Issue, data: dict) -> str:
        review = queries.latest_review(issue)
        if review is None:
            raise IssueActionError(_("This matter has no follow-up review to rate."))
        reviews.review_rate(
            review=review,
            actor=request.user,
            fixed=data["fixed"],
            satisfaction=data["satisfaction"],
            comment=data["comment"],
            source=data["source"],
        )
        return _("The resident's rating was recorded.")

    return _run_from_issue_page(
        request,
        pk,
        require=permissions.require_rate_issue,
        form_name="rating_form",
        make_form=lambda issue: StaffRatingForm(request.POST),
        perform=perform,
    )


@login_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(issue: Issue, data: dict) -> str:
        handling.issue_assign(
            issue=issue,
            actor=request.user,
            members=data["members"],
            staff=data["staff"],
            due_on=data["due_on"],
            expected_version=data["version"],
        )
        return _("The assignment was saved.")

    return _run_from_issue_page(
        request,
        pk,
        require=permissions.require_assign_issue,
        form_name="assign_form",
        make_form=lambda issue: AssignForm(request.POST, issue=issue),
        perform=perform,
    )


@login_required
@require_POST
def escalate(request: HttpRequest, pk: int) -> HttpResponse:
    def perform(issue: Issue, data: dict) -> str:
        issue = escalations.issue_escalate(
            issue=issue, actor=request.user, reason=data["reason"], expected_version=data["version"]
        )
        return _("Escalated: now handled by the %(tier)s.") % {"tier": issue.get_tier_display()}

    return _run_from_issue_page(
        request,
        pk,
        require=permissions.require_escalate_issue,
        form_name="escalate_form",
        make_form=lambda issue: EscalateForm(request.POST),
        perform=perform,
    )


@login_required
@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    issue = queries.issue_for(request.user, pk)
    permissions.require_comment_on_issue(request.user, issue)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            intake.issue_comment(issue=issue, actor=request.user, text=form.cleaned_data["text"])
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            return redirect("issues:detail", pk=issue.pk)
    return _detail(request, issue, status=422, comment_form=form)


@login_required
@require_POST
def add_photos(request: HttpRequest, pk: int) -> HttpResponse:
    issue = queries.issue_for(request.user, pk)
    permissions.require_comment_on_issue(request.user, issue)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            intake.issue_add_photos(
                issue=issue, actor=request.user, uploads=form.cleaned_data["photos"]
            )
        except REFUSALS as error:
            form.add_error("photos", refusal_message(error))
        else:
            messages.success(request, _("The photos were added."))
            return redirect("issues:detail", pk=issue.pk)
    return _detail(request, issue, status=422, photo_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    issue = queries.issue_for(request.user, pk)
    permissions.require_handle_issue(request.user, issue)
    form = EditForm(request.POST or None, instance=issue)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in EditForm.Meta.fields}
        try:
            intake.issue_edit(
                issue=issue,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                **fields,
            )
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
            issue = queries.issue_for(request.user, pk)
            form = _refresh_version(form, issue)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("issues:detail", pk=issue.pk)
    return render(
        request,
        "issues/edit.html",
        {"issue": issue, "form": form},
        status=422 if form.is_bound else 200,
    )


@login_required
@require_GET
def photo(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    """Photos are served only to those who may see the issue (they can show people and homes)."""
    found = queries.photo_for(request.user, pk, photo_pk)
    response = FileResponse(found.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Street categories -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def categories(request: HttpRequest, street_id: int) -> HttpResponse:
    street = member_queries.street_for(request.user, street_id)
    rows = list(queries.categories_of_street(request.user, street))
    editing = None
    form = CategoryForm()
    if request.method == "POST":
        category_pk = request.POST.get("category")
        editing = next((c for c in rows if str(c.pk) == category_pk), None)
        form = CategoryForm(request.POST, instance=editing or Category(street=street))
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in CategoryForm.Meta.fields}
            upkeep.category_save(actor=request.user, street=street, category=editing, **fields)
            messages.success(request, _("The category was saved."))
            return redirect("issues:categories", street_id=street.pk)
    return render(
        request,
        "issues/categories.html",
        {"street": street, "categories": rows, "form": form, "editing": editing},
        status=422 if request.method == "POST" else 200,
    )


# --- Exports ---------------------------------------------------------------------------------


def _export_filters(request: HttpRequest) -> queries.InboxFilters | HttpResponse:
    """The inbox's filters from the same query string, or the response refusing them.

    A community that is not one of the user's is 404 (not existing and not yours look
    the same); any other invalid filter gets the inbox page with its messages and 422,
    never a file of something other than what was asked for.
    """
    form = _inbox_filter_form(request, request.GET)
    if not form.is_valid():
        if "community" in form.errors:
            raise Http404
        response = inbox(request)
        response.status_code = 422
        return response
    return _inbox_filters(form)


def _inbox_export(request: HttpRequest, format: str) -> HttpResponseBase:
    """The inbox with its filters as a file: exactly the rows the inbox lists.

    Full numbers only if asked for (``phones=full``) and allowed; anyone else asking
    gets them masked, as everyone does by default.
    """
    filters = _export_filters(request)
    if isinstance(filters, HttpResponse):
        return filters
    full_phones = request.GET.get("phones") == "full" and permissions.may_export_full_phones(
        request.user, filters.community
    )
    return downloads.export_download(
        actor=request.user,
        kind="inbox",
        format=format,
        filters=exports.filters_record(filters),
        full_phones=full_phones,
        name=("issues", _("Issues")),
        sheets=[
            downloads.Sheet(
                _("Issues"),
                exports.headers,
                exports.inbox_rows(request.user, filters, full_phones=full_phones),
            )
        ],
    )


@login_required
@require_GET
def export_csv(request: HttpRequest) -> HttpResponseBase:
    """The inbox with its filters as CSV, streamed: memory stays flat however many rows."""
    return _inbox_export(request, "csv")


@login_required
@require_GET
def export_xlsx(request: HttpRequest) -> HttpResponseBase:
    """The inbox with its filters as XLSX: a workbook is a zip file, so it is written whole
    to a temporary file first and then sent from there."""
    return _inbox_export(request, "xlsx")
