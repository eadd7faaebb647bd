"""The inbox, "my issues" and the inbox as a file: the lists of issues a user may see.

The issue pages and their forms are in ``issues.views``; the street office's and the
departments' pages in ``issues.escalation_views``. URL names are the app's as before.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common.paging import keyset_page
from issues import exports, permissions, queries
from issues.actions import exports as export_jobs
from issues.forms import (
    InboxFilterForm,
)
from issues.models import Issue
from members import downloads
from members import queries as member_queries

PAGE_SIZE = 30


# --- Inbox and lists -----------------------------------------------------------------


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    form = inbox_filter_form(request, request.GET or None)
    filters = queries.InboxFilters()
    if form.is_bound and form.is_valid():
        filters = inbox_filters(form)
    # "Show more" renders only the rows: it needs no counts.
    more = bool(request.htmx and request.htmx.target == "more-issues")
    exact = request.GET.get("count") == "exact"
    counts = (
        queries.StatusCounts({}, 0, exact=False)
        if more
        else queries.status_counts(request.user, filters, exact=exact)
    )
    page = queries.inbox_page(
        request.user,
        filters,
        cursor=request.GET.get("after", ""),
        size=PAGE_SIZE,
        # Read for the form's lists already (once, ListedChoices): no join for the rows.
        communities=form.fields["community"].queryset,
        categories=form.fields["category"].queryset,
        matches=counts.matching(filters.status),
    )
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("count", None)
    context = {
        "form": form,
        "page": page,
        "counts": [
            (value, label, counts.by_status.get(value, 0)) for value, label in Issue.Status.choices
        ],
        "total": counts.total,
        "capped": counts.capped,
        "counted_exactly": exact and not counts.capped,
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


def inbox_filter_form(request: HttpRequest, data: QueryDict | None) -> InboxFilterForm:
    """The inbox's filters over the communities the user sees; 403 for those with no inbox."""
    permissions.require_use_inbox(request.user)
    communities = member_queries.communities_visible_to(request.user).order_by("name")
    return InboxFilterForm(
        data,
        communities=communities,
        admin_street_ids=member_queries.scope_of(request.user).admin_street_ids,
    )


def inbox_filters(form: InboxFilterForm) -> queries.InboxFilters:
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


# --- Exports ---------------------------------------------------------------------------------


def _export_filters(request: HttpRequest) -> queries.InboxFilters | HttpResponse:
    """The inbox's filters from the same query string, or the response refusing them.

    A community that is not one of the user's is 404 (not existing and not yours look
    the same); any other invalid filter gets the inbox page with its messages and 422,
    never a file of something other than what was asked for.
    """
    form = inbox_filter_form(request, request.GET)
    if not form.is_valid():
        if "community" in form.errors:
            raise Http404
        response = inbox(request)
        response.status_code = 422
        return response
    return inbox_filters(form)


def _inbox_export(request: HttpRequest, format: str) -> HttpResponseBase:
    """The inbox with its filters as a file: exactly the rows the inbox lists.

    Up to ``YISHI_EXPORT_INLINE_ROWS`` rows (counted with a bounded query) the file is
    streamed in this response; more, and a worker builds it (``issues.actions.exports``)
    while the reader is sent to the export's page.

    Full numbers only if asked for (``phones=full``) and allowed; anyone else asking
    gets them masked, as everyone does by default.
    """
    filters = _export_filters(request)
    if isinstance(filters, HttpResponse):
        return filters
    full_phones = request.GET.get("phones") == "full" and permissions.may_export_full_phones(
        request.user, filters.community
    )
    limit = export_jobs.inline_limit()
    if exports.rows_at_most(request.user, filters, limit) > limit:
        # Too long for one request (a server timeout would cut it half-way): a worker
        # builds the file and the reader watches it on the export's page.
        job, _created = export_jobs.export_request(
            actor=request.user, format=format, filters=filters, full_phones=full_phones
        )
        messages.info(
            request,
            _(
                "A large export: it is being prepared. You may leave this page; "
                "we will send you a notice when the file is ready."
            ),
        )
        return redirect("issues:export_job", pk=job.pk)
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
