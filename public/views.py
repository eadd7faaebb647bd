"""What residents without an account see: the QR-code report form, the tracking page,
and the rating page a follow-up review's text message links to.

Also the QR poster that community staff print to put those in front of residents.

Limits (per client address, see ``common.throttle``): ``REPORTS_PER_HOUR`` reports
accepted (``public.intake`` counts them) and ``LOOKUPS_PER_HOUR`` tracking pages. Nothing
on these pages says whether a phone number, a resident or an account exists anywhere.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common import throttle
from common.bodycap import counts_refusals_toward
from common.phones import mask_phone
from common.qr import qr_code, qr_svg
from issues import queries, reviews, similar
from issues.models import Event, FollowUpReview, Issue, Rating
from issues.review_forms import RatingForm
from members import permissions as members_permissions
from members import queries as members_queries
from members import submissions
from members.models import Community, User
from public import forms as public_forms
from public import intake
from volunteers import queries as volunteer_queries
from volunteers.actions import joins
from volunteers.refusals import VolunteerRefusal

REPORTS_PER_HOUR = 5
JOINS_PER_HOUR = 5
LOOKUPS_PER_HOUR = 60
HOUR = 3600
# How long a second post of the same drawn form waits for the first to finish.
DUPLICATE_WAIT_SECONDS = 15

TOKEN_SALT = "yishi.public-form"
TOKEN_DIGEST_LENGTH = 10
TOKEN = re.compile(r"^([1-9][0-9]{0,17})-([0-9a-f]+)$")
TRACKING_CODE = re.compile(r"^[A-Z0-9]{1,12}$")


# --- The community token in the QR code ---------------------------------------------------


def _token_digest(pk: int, secret: str) -> str:
    return salted_hmac(TOKEN_SALT, str(pk), secret=secret).hexdigest()[:TOKEN_DIGEST_LENGTH]


def public_form_token(community: Community) -> str:
    """``<pk>-<10 hex digits of an HMAC>``: short for a QR code, stable, and unguessable.

    The pk alone opens nothing: without the HMAC (keyed with SECRET_KEY) a
    token is refused, so the posters cannot be enumerated. Rotating SECRET_KEY
    changes every token: keep the old key in SECRET_KEY_FALLBACKS until the
    posters are reprinted.
    """
    return f"{community.pk}-{_token_digest(community.pk, settings.SECRET_KEY)}"


def community_from_token(token: str, *, with_teams: bool = False) -> Community:
    """The community a token names, or 404 for anything forged, mangled or stale.

    ``with_teams``: with ``has_teams``, whether it has volunteer teams to join (same query).
    """
    match = TOKEN.match(token)
    if not match:
        raise Http404
    pk, digest = int(match[1]), match[2]
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(constant_time_compare(digest, _token_digest(pk, secret)) for secret in secrets):
        raise Http404
    found = Community.objects.select_related("street").filter(pk=pk)
    if with_teams:
        found = found.annotate(has_teams=volunteer_queries.has_teams())
    community = found.first()
    if community is None:
        raise Http404
    return community


def normalise_tracking_code(raw: str) -> str:
    """What people type, as stored; "" if it cannot be a tracking code.

    Chinese input methods often type full-width letters and digits (ＡＢ３):
    NFKC turns them into ASCII. Spaces and dashes go, and case does not matter.
    """
    code = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", raw or "")).upper()
    return code if TRACKING_CODE.match(code) else ""


def public_page(view):
    """Kept out of every cache and search engine: a tracking code is as good as a key."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return never_cache(wrapped)


def lookup_throttled(view):
    """Counts the request against the client's hourly lookups; past the limit, a 429 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return _lookup_limited(request) or view(request, *args, **kwargs)

    return wrapped


# --- Reporting -------------------------------------------------------------------------------


class ReportRefused(Exception):
    """The report was not written (its errors are on the form): the page's status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@counts_refusals_toward("report", REPORTS_PER_HOUR, HOUR)
@sensitive_post_parameters("contact_name", "contact_phone")
@require_http_methods(["GET", "POST"])
@public_page
def report(request: HttpRequest, token: str) -> HttpResponse:
    if request.htmx and "hint" in request.GET:
        # Asked for as the resident types: the hints alone, without the page's other reads.
        community = community_from_token(token)
        return render(
            request, "issues/_similar.html", similar.hints_context(community, request.GET)
        )
    community = community_from_token(token, with_teams=True)
    bound = request.method == "POST"
    form = public_forms.PublicReportForm(
        request.POST if bound else None, request.FILES if bound else None, community=community
    )
    status = 200
    if bound and request.POST.get("me_too"):
        form.is_valid()
        outcome = intake.me_too_once(
            form,
            community,
            request.POST["me_too"],
            client=throttle.client_ip(request),
            per_hour=REPORTS_PER_HOUR,
        )
        if isinstance(outcome, str):
            messages.success(request, _("Thank you: you are counted on this matter."))
            return redirect("public:track_issue", code=outcome)
        status = outcome
    elif bound:
        status = 422
        if form.is_valid():

            def create() -> str:
                outcome = intake.report_once(
                    form,
                    community,
                    client=throttle.client_ip(request),
                    per_hour=REPORTS_PER_HOUR,
                    wait_seconds=DUPLICATE_WAIT_SECONDS,
                )
                if isinstance(outcome, int):
                    raise ReportRefused(outcome)
                return reverse("public:reported", args=[outcome])

            try:
                # The drawn form's nonce is its one-time key in the database too, so a
                # second post goes to the first report even when the cache forgot it.
                url, _first = submissions.submit_once(form.nonce, None, create)
            except ReportRefused as refused:
                status = refused.status
            else:
                if getattr(form, "photos_not_stored", 0):
                    messages.warning(
                        request,
                        _(
                            "Your report was received, but its photos could not be kept just "
                            "now. If they matter, show them to your community office."
                        ),
                    )
                return redirect(url)
    context = {
        "community": community,
        "form": form,
        "token": token,
        "has_teams": community.has_teams,
        **similar.hints_context(community, form.data if bound else {}),
    }
    return render(request, "public/report.html", context, status=status)


# --- Asking to join a volunteer team -------------------------------------------------------


@sensitive_post_parameters("name", "phone")
@require_http_methods(["GET", "POST"])
@public_page
def join(request: HttpRequest, token: str) -> HttpResponse:
    """A resident asks to join one of the community's volunteer teams; staff or the team's
    leader answer on the team's page. One request per drawn form, ``JOINS_PER_HOUR`` per
    connection; when the cache is down the limit lets requests through and the form's
    one-time key still keeps a double tap to one request."""
    community = community_from_token(token)
    teams = volunteer_queries.public_teams_of(community)
    if not teams.exists():
        raise Http404
    bound = request.method == "POST"
    form = public_forms.JoinTeamForm(request.POST if bound else None, community=community,
                                     teams=teams)  # fmt: skip
    status = 200
    if bound:
        status = 422
        if form.is_valid():
            if not throttle.hit(f"join:{throttle.client_ip(request)}", JOINS_PER_HOUR, HOUR):
                form.add_error(
                    None,
                    _(
                        "Several requests were sent from this connection in the last hour. "
                        "Please try again in an hour, or ask at your community office."
                    ),
                )
                status = 429
            else:
                data = form.cleaned_data

                def create() -> str:
                    joins.join_request_send(
                        community=community,
                        team=data["team"],
                        name=data["name"],
                        phone=data["phone"],
                        phone_consent=data["phone_consent"],
                    )
                    return reverse("public:joined", args=[token])

                try:
                    url, _first = submissions.submit_once(form.nonce, None, create)
                except VolunteerRefusal as refusal:
                    form.add_error(None, str(refusal))
                else:
                    return redirect(url)
    context = {"community": community, "form": form}
    return render(request, "public/join.html", context, status=status)


@require_GET
@public_page
def joined(request: HttpRequest, token: str) -> HttpResponse:
    community = community_from_token(token)
    return render(request, "public/joined.html", {"community": community, "token": token})


@require_GET
@public_page
@lookup_throttled
def reported(request: HttpRequest, code: str) -> HttpResponse:
    """After a report: the tracking code, large, with where to use it."""
    issue = _issue_or_none(code)
    if issue is None:
        return _not_found(request, code)
    context = {
        "issue": issue,
        "form_token": public_form_token(issue.community),
        "track_url": request.build_absolute_uri(reverse("public:track")),
    }
    return render(request, "public/reported.html", context)


# --- Tracking --------------------------------------------------------------------------------


@require_GET
@public_page
def track(request: HttpRequest) -> HttpResponse:
    """Type a tracking code; a good-looking one goes to its page."""
    raw = request.GET.get("code")
    error = ""
    if raw is not None:
        code = normalise_tracking_code(raw)
        if code:
            return redirect("public:track_issue", code=code)
        error = _("Type the tracking code you were given: eight letters and digits.")
    context = {"error": error, "code": raw or ""}
    return render(request, "public/track.html", context, status=422 if error else 200)


@dataclass(frozen=True)
class PublicEvent:
    """One line of the public timeline: what happened and when, never who."""

    label: str
    created: datetime
    detail: str = ""
    note: str = ""


@require_GET
@public_page
@lookup_throttled
def track_issue(request: HttpRequest, code: str) -> HttpResponse:
    issue = _issue_or_none(code)
    if issue is None:
        return _not_found(request, code)
    return _tracking_page(request, issue, resent=request.GET.get("sent") == "1")


def _tracking_page(
    request: HttpRequest,
    issue: Issue,
    *,
    resend_error: str = "",
    resent: bool = False,
    status: int = 200,
) -> HttpResponse:
    events = [_public_event(event) for event in queries.timeline(issue, public_only=True)]
    context = {
        "issue": issue,
        "events": events,
        "show_outcome": issue.status == Issue.Status.NOT_ACTIONABLE and issue.outcome_note,
        "resend_error": resend_error,
        "resent": resent,
        **_rating_offer(issue),
    }
    return render(request, "public/tracking.html", context, status=status)


def _rating_offer(issue: Issue) -> dict:
    """What the tracking page says of an open rating link, without ever showing the link.

    The link goes only to the reporter's phone: anyone holding the tracking code (staff see
    it in every inbox and export) must not be able to rate in the resident's name.
    """
    review = queries.latest_review(issue)
    if review is None or reviews.link_state(review, timezone.now()) != "open":
        return {"rating_open": False}
    return {"rating_open": True, "rating_phone": mask_phone(queries.reporter_phone(issue))}


@require_POST
@public_page
@lookup_throttled
def resend_rating_link(request: HttpRequest, code: str) -> HttpResponse:
    """Text the rating link again to the number the reporter left; rate limited per review."""
    issue = _issue_or_none(code)
    if issue is None:
        return _not_found(request, code)
    review = queries.latest_review(issue)
    if review is None:
        return redirect("public:track_issue", code=issue.tracking_code)
    review.issue = issue
    try:
        reviews.resend_rating_link(review, now=timezone.now())
    except reviews.ReviewRefused as refused:
        status = 429 if isinstance(refused, reviews.ResendLimited) else 409
        return _tracking_page(request, issue, resend_error=str(refused), status=status)
    response = redirect(reverse("public:track_issue", args=[issue.tracking_code]) + "?sent=1")
    response.status_code = 303
    return response


# --- Rating the outcome ------------------------------------------------------------------------

# Why a rating link no longer takes a rating, and the status its page answers with.
LINK_CLOSED_STATUS = {"rated": 200, "expired": 410, "cancelled": 410, "unsent": 404}


@require_http_methods(["GET", "POST"])
@public_page
@lookup_throttled
def rate(request: HttpRequest, token: str) -> HttpResponse:
    """The resident's rating of a resolved matter, from the link in the text message."""
    review = reviews.review_from_token(token)
    if review is None:
        return render(request, "public/rate_invalid.html", status=404)
    state = reviews.link_state(review, timezone.now())
    bound = request.method == "POST"
    if state != "open":
        # A second send of the form (a double tap, the back button) changes nothing.
        status = 409 if bound and state == "rated" else LINK_CLOSED_STATUS[state]
        return _rate_closed(request, review, state, status)
    form = RatingForm(request.POST if bound else None)
    if bound and form.is_valid():
        try:
            reviews.review_rate(
                review=review,
                actor=None,
                fixed=form.cleaned_data["fixed"],
                satisfaction=form.cleaned_data["satisfaction"],
                comment=form.cleaned_data["comment"],
                source=Rating.Source.LINK,
            )
        except reviews.ReviewRefused:
            review = reviews.review_from_token(token)  # someone else's send got there first
            state = reviews.link_state(review, timezone.now())
            return _rate_closed(request, review, state, 409 if state == "rated" else 410)
        return redirect(reverse("public:rate", args=[token]) + "?thanks=1")
    context = {"issue": review.issue, "form": form}
    return render(request, "public/rate.html", context, status=422 if bound else 200)


def _rate_closed(request: HttpRequest, review: FollowUpReview, state: str, status: int):
    context = {
        "issue": review.issue,
        "state": state,
        "rating": getattr(review, "rating", None),
        # Straight after sending, the resident is thanked; later visits say it was used.
        "just_rated": request.method == "GET" and request.GET.get("thanks") == "1",
    }
    return render(request, "public/rate_closed.html", context, status=status)


def _lookup_limited(request: HttpRequest) -> HttpResponse | None:
    if throttle.hit(f"lookup:{throttle.client_ip(request)}", LOOKUPS_PER_HOUR, HOUR):
        return None
    response = render(request, "public/too_many.html", status=429)
    response["Retry-After"] = str(HOUR)
    return response


def _issue_or_none(code: str) -> Issue | None:
    code = normalise_tracking_code(code)
    if not code:
        return None
    try:
        return queries.public_issue(code)
    except Http404:
        return None


def _not_found(request: HttpRequest, code: str) -> HttpResponse:
    return render(request, "public/not_found.html", {"code": code}, status=404)


def _public_event(event: Event) -> PublicEvent:
    """The label, and the new status or tier; a note only where it was written for the public."""
    label, detail = event.get_kind_display(), ""
    if event.kind == Event.Kind.REPLY:
        label = pgettext("to the resident", "Reply")
    elif event.kind == Event.Kind.ME_TOO:
        more = int(event.to_value or 1)
        detail = ngettext(
            "%(n)s more resident has reported it", "%(n)s more residents have reported it", more
        ) % {"n": more}
    elif event.kind == Event.Kind.STATUS and event.data.get("deliberated_at"):
        label = _("discussed at a council meeting")
    elif event.kind == Event.Kind.STATUS:
        detail = _choice_label(Issue.Status, event.to_value)
    elif event.kind in (Event.Kind.ESCALATED, Event.Kind.TIER):
        detail = _choice_label(Issue.Tier, event.to_value)
    elif event.kind == Event.Kind.RATED:
        detail = _choice_label(Rating.Satisfaction, int(event.to_value or 0))
    elif event.kind == Event.Kind.REVIEWED:
        detail = _choice_label(FollowUpReview.CouncilOutcome, event.to_value)
    elif event.kind == Event.Kind.VOLUNTEER_WORK:
        detail = event.volunteer_work_detail
    note = event.note if event.data.get("note_public") else ""
    return PublicEvent(label=label, created=event.created, detail=detail, note=note)


def _choice_label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return ""


# --- The QR poster -----------------------------------------------------------------------------


def poster_community(user: User, community_id: int) -> Community:
    """Staff of the community and admins of its street print posters; others get 403.

    Council members see the community but print nothing: posters go up through
    the community office. Anyone outside the community gets 404.
    """
    community = members_queries.community_for(user, community_id)
    members_permissions.require_print_poster(user, community)
    return community


def _form_url(request: HttpRequest, community: Community) -> str:
    return request.build_absolute_uri(reverse("public:report", args=[public_form_token(community)]))


@login_required
@require_GET
def poster(request: HttpRequest, community_id: int) -> HttpResponse:
    community = poster_community(request.user, community_id)
    form_url = _form_url(request, community)
    context = {
        "community": community,
        "form_url": form_url,
        "track_url": request.build_absolute_uri(reverse("public:track")),
        "qr_svg": qr_svg(form_url),
    }
    return render(request, "public/poster.html", context)


@login_required
@require_GET
def poster_svg(request: HttpRequest, community_id: int) -> HttpResponse:
    community = poster_community(request.user, community_id)
    out = io.BytesIO()
    qr_code(_form_url(request, community)).save(out, kind="svg", scale=10, border=4, xmldecl=True)
    response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="yishi-qr-{community.pk}.svg"'
    return response
