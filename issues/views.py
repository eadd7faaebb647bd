"""An issue's pages: reporting one, its page with the forms that act on it, editing, its
photos, and a street's categories.

The lists of issues are in ``issues.inbox_views``; the street office's and the
departments' pages in ``issues.escalation_views``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common import files, versions
from common.refusals import Refusal
from issues import extensions, lifecycle, permissions, queries, replies, reviews, similar
from issues.actions import escalations, handling, intake, supporters, upkeep
from issues.actions import replies as reply_actions
from issues.events import IssueActionError
from issues.forms import (
    AssignForm,
    CategoryForm,
    CommentForm,
    EditForm,
    EscalateForm,
    IntakeForm,
    PhotoForm,
    ReportForm,
    TransitionForm,
)
from issues.models import Category, Escalation, Issue
from issues.review_forms import StaffRatingForm
from members import queries as member_queries
from members import submissions
from members.models import Community, CouncilMember, User

REFUSALS = (IssueActionError, lifecycle.TransitionRefused, ValidationError)


def refusal_message(error: Exception) -> str:
    """What a refusal caught as one of ``REFUSALS`` says to the person."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


# The header a report kept offline is sent with: whose it is (``submissions.outbox_owner``).
OUTBOX_HEADER = "X-Yishi-Outbox"

# At most this many residents are listed for one search; more asks for a longer search.
RESIDENT_MATCHES = 20


@login_required
@sensitive_post_parameters("contact_phone")
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, community_id: int) -> HttpResponse:
    """Council members report from a phone; staff enter matters from every channel."""
    community = member_queries.community_for(request.user, community_id)
    permissions.require_report_issue(request.user, community)
    is_staff = permissions.may_take_in_issue(request.user, community)
    if request.htmx and "hint" in request.GET:
        return render(
            request, "issues/_similar.html", similar.hints_context(community, request.GET)
        )
    data = (request.POST or None, request.FILES or None)
    if request.POST.get("me_too"):
        return _me_too(request, community, is_staff)
    if not is_staff:
        form = ReportForm(*data, community=community)
    elif request.POST.get("find_resident"):
        # The search button without JavaScript: the page again, with what was typed (as
        # initial values, so nothing is judged yet) and the residents that match.
        form = IntakeForm(initial=request.POST.dict(), community=community)
        return _report_page(request, community, form, is_staff, search=form["reporter_q"].value())
    else:
        last_channel = None if request.POST else queries.last_intake_channel(request.user)
        form = IntakeForm(*data, community=community, last_channel=last_channel)
    # A report the phone kept while it had no signal, sent now (static/js/outbox.js):
    # answered in JSON, and only under the login of the person who made it.
    queued = request.method == "POST" and not is_staff and OUTBOX_HEADER in request.headers
    if queued and request.headers[OUTBOX_HEADER] != submissions.outbox_owner(request.user):
        refused = _("This report was made under another login.")
        return JsonResponse({"errors": [refused]}, status=409)
    if request.method == "POST" and form.is_valid():
        photos_not_stored = False

        def create() -> str:
            nonlocal photos_not_stored
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
            photos_not_stored = bool(issue.photos_not_stored)
            return reverse("issues:detail", args=[issue.pk])

        try:
            # A second post of the same drawn form (a double tap) goes to the first issue.
            url, first = submissions.submit_once(
                form.cleaned_data["submission_key"], request.user, create
            )
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            not_stored = _(
                "The report was saved, but its photos could not be stored just now. "
                "Please add the photos again on this page in a moment."
            )
            if queued:
                answer = {"url": url, "first": first}
                if photos_not_stored:
                    answer["warning"] = not_stored
                return JsonResponse(answer, status=201 if first else 200)
            if photos_not_stored:
                messages.warning(request, not_stored)
            elif first:
                messages.success(request, _("The issue was recorded. Thank you."))
            # The page after a report tells the browser to forget its saved draft.
            return redirect(url + "?reported=1")
    if queued:
        errors = [str(message) for messages_ in form.errors.values() for message in messages_]
        return JsonResponse({"errors": errors}, status=422)
    search = form["reporter_q"].value() if is_staff and form.is_bound else ""
    return _report_page(
        request, community, form, is_staff, search=search, status=422 if form.is_bound else 200
    )


def _me_too(request: HttpRequest, community: Community, is_staff: bool) -> HttpResponse:
    """ "Me too" pressed on a hint: count who is reporting on that matter, not a new one."""
    issue = get_object_or_404(
        queries.issues_visible_to(request.user).filter(community=community),
        pk=request.POST["me_too"] if request.POST["me_too"].isdigit() else 0,
    )
    if is_staff:
        form = IntakeForm(request.POST, request.FILES, community=community)
        form.is_valid()  # only the reporter's part is used: the rest of the report is not sent
        data = form.cleaned_data
        mode = data.get("reporter_mode")
        who = {
            "channel": data.get("channel") or Issue.Channel.HOTLINE,
            "resident": data.get("reporter") if mode == "existing" else None,
            "name": data.get("new_name", "") if mode == "new" else "",
            "phone": data.get("contact_phone", "") if mode in ("new", "anonymous") else "",
        }
    else:
        form = ReportForm(request.POST, request.FILES, community=community)
        term = _term_on_council(request.user, community)
        who = {
            "channel": Issue.Channel.PATROL,
            "resident": term.resident if term else None,
            "user": request.user,
        }
    try:
        _supporter, counted = supporters.issue_me_too(issue=issue, actor=request.user, **who)
    except REFUSALS as error:
        # The report as typed, unjudged (it was not sent), with why nobody was counted.
        messages.error(request, refusal_message(error))
        form = type(form)(initial=request.POST.dict(), community=community)
        return _report_page(request, community, form, is_staff, status=422)
    if counted:
        issue.refresh_from_db(fields=["supporter_count"])
        message = _("Counted on “%(title)s”: %(n)s residents have reported it.") % {
            "title": issue.title,
            "n": issue.supporter_count + 1,  # and its first reporter
        }
    else:
        message = _("Already counted on “%(title)s”.") % {"title": issue.title}
    messages.success(request, message)
    return redirect(reverse("issues:detail", args=[issue.pk]) + "?reported=1")


def _report_page(
    request: HttpRequest,
    community: Community,
    form: ReportForm,
    is_staff: bool,
    *,
    search: str | None = "",
    status: int = 200,
) -> HttpResponse:
    context = {"community": community, "form": form, "is_staff": is_staff}
    context |= similar.hints_context(community, form.data if form.is_bound else {})
    if is_staff:
        context |= _resident_matches(
            request.user, community, search or "", chosen=form.chosen_reporter()
        )
    return render(request, "issues/report.html", context, status=status)


def _resident_matches(user: User, community: Community, search: str, *, chosen) -> dict:
    """The residents a search finds for the picker, the one already chosen first."""
    search = search.strip()[:50]
    matches = []
    if search:
        found = member_queries.residents_of(user, community, search=search)
        matches = list(found[: RESIDENT_MATCHES + 1])
    more = len(matches) > RESIDENT_MATCHES
    matches = [r for r in matches[:RESIDENT_MATCHES] if chosen is None or r.pk != chosen.pk]
    return {
        "chosen": chosen,
        "matches": matches,
        "more_matches": more,
        "searched": search,
    }


@login_required
@require_GET
def resident_picker(request: HttpRequest, community_id: int) -> HttpResponse:
    """The intake form's resident search: the matching residents of this community, for
    htmx to put under the search box."""
    community = member_queries.community_for(request.user, community_id)
    permissions.require_take_in_issue(request.user, community)
    form = IntakeForm(community=community)
    chosen = form.chosen_reporter(request.GET.get("reporter", ""))
    context = {"community": community, "form": form}
    context |= _resident_matches(
        request.user, community, request.GET.get("reporter_q", ""), chosen=chosen
    )
    return render(request, "issues/report.html#resident_results", context)


def _term_on_council(user: User, community: Community) -> CouncilMember:
    """The reporting council member's current term on the community's council."""
    memberships = member_queries.current_memberships_of(user)
    return memberships.filter(council__community=community).select_related("resident").first()


# --- One issue ---------------------------------------------------------------------------


def _detail(request: HttpRequest, issue: Issue, *, status: int = 200, **bound) -> HttpResponse:
    """The issue page (of an issue read by ``queries.issue_page``), with any form that
    failed shown again with what was typed."""
    user = request.user
    can_handle = permissions.may_handle_issue(user, issue)
    assigned_members = (
        list(issue.assigned_members.select_related("resident"))
        if issue.has_assigned_members
        else []
    )
    version = {"version": issue.version}
    forms = {}
    if can_handle:
        # The assignment form's lists of members and staff load when it is opened.
        forms = {
            "transition_form": TransitionForm(initial=version),
            "escalate_form": EscalateForm(initial=version),
        }
    review = queries.latest_review(issue)
    if (
        permissions.may_rate_issue(user, issue)
        and review is not None
        and not hasattr(review, "rating")
    ):
        forms["rating_form"] = StaffRatingForm()
    may_reply = permissions.may_reply_to_resident(user, issue)
    if permissions.may_comment_on_issue(user, issue):
        forms["comment_form"] = CommentForm(may_reply=may_reply)
        forms["photo_form"] = PhotoForm()
    forms.update(bound)
    is_task = bool(assigned_members) and issue.tier == Issue.Tier.COUNCIL
    context = {
        "issue": issue,
        "events": list(queries.timeline(issue)),
        # A photo whose file is missing from the store is left out (and logged), not shown
        # as a broken image.
        "photos": files.stored_only(queries.photos_of(issue), "image", what="photo"),
        "assigned_members": assigned_members,
        # A matter the council solves itself: its members' task, and their report of it.
        "is_task": is_task,
        "task_pending": is_task and issue.is_open and issue.has_pending_task,
        # An escalation is open only while the street or a department has the matter (it
        # is returned to the community or confirmed otherwise): no query for the others.
        "escalation": issue.escalations.filter(state__in=Escalation.OPEN_STATES).first()
        if issue.tier in (Issue.Tier.STREET, Issue.Tier.DEPARTMENT)
        else None,
        "review": review,
        "transitions": lifecycle.available(issue) if can_handle else [],
        "can_handle": can_handle,
        "can_escalate": permissions.may_escalate_issue(user, issue)
        and issue.is_open
        and issue.tier in (Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY),
        "today": timezone.localdate(),
        "convene_form": extensions.convene_form(user, issue),
        "reply_templates": _reply_templates(issue) if may_reply else [],
        "supporters": list(issue.supporters.all()) if issue.supporter_count else [],
        "volunteer_work": extensions.volunteer_work(user, issue),
        **forms,
    }
    return render(request, "issues/detail.html", context, status=status)


def _reply_templates(issue: Issue) -> list:
    return list(queries.reply_templates_of(issue.community.street).only("pk", "title"))


def _comment_form_with_template(request: HttpRequest, issue: Issue) -> CommentForm | None:
    """A reply started from one of the street's templates, its placeholders filled in."""
    try:
        template_id = int(request.GET.get("reply_template", ""))
    except ValueError:
        return None
    if not permissions.may_reply_to_resident(request.user, issue):
        return None
    template = queries.reply_templates_of(issue.community.street).filter(pk=template_id).first()
    if template is None:
        return None
    return CommentForm(
        initial={"kind": CommentForm.REPLY, "text": replies.fill(template.body, issue)},
        may_reply=True,
    )


def _refresh_version(form, issue: Issue):
    """After a refusal the form keeps what was typed but carries the current version."""
    data = form.data.copy()
    data["version"] = str(issue.version)
    form.data = data
    return form


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    issue = queries.issue_page(request.user, pk)
    form = _comment_form_with_template(request, issue)
    if form is None:
        return _detail(request, issue)
    if request.htmx:
        context = {"issue": issue, "comment_form": form, "reply_templates": _reply_templates(issue)}
        return render(request, "issues/detail.html#comment_form", context)
    return _detail(request, issue, comment_form=form)


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
    issue = queries.issue_page(request.user, pk)
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


def _assign_form(issue: Issue) -> AssignForm:
    return AssignForm(
        initial={
            "version": issue.version,
            "members": list(issue.assigned_members.all()),
            "staff": issue.assigned_staff,
            "due_on": issue.due_on,
        },
        issue=issue,
    )


@login_required
@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Who works on an open matter and by when: the form opens in the issue page's card
    (htmx) or as a page of its own; a refused post shows the issue page again."""
    if request.method == "GET":
        issue = queries.issue_for(request.user, pk)
        permissions.require_assign_issue(request.user, issue)
        if not issue.is_open:
            return redirect("issues:detail", pk=issue.pk)
        context = {"issue": issue, "assign_form": _assign_form(issue)}
        if request.htmx:
            return render(request, "issues/detail.html#assign_form", context)
        return render(request, "issues/assign.html", context)

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
    form = CommentForm(
        request.POST, may_reply=permissions.may_reply_to_resident(request.user, issue)
    )
    if form.is_valid():
        text = form.cleaned_data["text"]

        def add() -> str:
            if form.is_reply:
                reply_actions.issue_reply(issue=issue, actor=request.user, text=text)
            else:
                intake.issue_comment(issue=issue, actor=request.user, text=text)
            return reverse("issues:detail", args=[issue.pk])

        try:
            # A double tap on "Add comment" adds it once.
            url, _first = submissions.submit_once(
                form.cleaned_data["submission_key"], request.user, add
            )
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
        else:
            if form.is_reply:
                messages.success(request, _("Your reply was sent to the resident."))
            else:
                messages.success(request, _("Internal note added."))
            return redirect(url)
    return _detail(request, queries.issue_page(request.user, pk), status=422, comment_form=form)


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
    return _detail(request, queries.issue_page(request.user, pk), status=422, photo_form=form)


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
    response = files.stored_file_response(found.image, content_type="image/jpeg", what="photo")
    # Like the pages: a shared office computer keeps no copy of a photo of someone's home.
    response["Cache-Control"] = "private, no-store"
    return response


# --- Street categories -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def categories(request: HttpRequest, street_id: int) -> HttpResponse:
    street = member_queries.street_for(request.user, street_id)
    rows = list(queries.categories_of_street(request.user, street))
    editing = None
    form = CategoryForm()
    refused = {}
    if request.method == "POST":
        category_pk = request.POST.get("category")
        editing = next((c for c in rows if str(c.pk) == category_pk), None)
        form = CategoryForm(request.POST, instance=editing or Category(street=street))
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in CategoryForm.Meta.fields}
            try:
                upkeep.category_save(
                    actor=request.user,
                    street=street,
                    category=editing,
                    expected_version=form.cleaned_data.get("version"),
                    **fields,
                )
            except Refusal as refusal:
                form.add_error(None, str(refusal))
                refused = versions.refused_context(form, refusal)
            else:
                messages.success(request, _("The category was saved."))
                return redirect("issues:categories", street_id=street.pk)
    return render(
        request,
        "issues/categories.html",
        {"street": street, "categories": rows, "form": form, "editing": editing, **refused},
        status=422 if request.method == "POST" else 200,
    )
