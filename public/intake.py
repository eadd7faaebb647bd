"""Reports from the QR-code form: one issue per drawn form, within a limit per connection.

A drawn form carries a nonce (``public.forms``). Its first post claims the nonce in the
cache (``common.throttle``); a second post of the same form (a double tap on a slow
connection) waits for the first and answers with its tracking code. Reports are counted
per client address and hour; one refused after it was counted is taken back and its
claim released, so the resident can correct the form and send it again.

The cache claim is the quick answer; the one guard that always holds is the drawn form's
one-time key in the database (``members.submissions.submit_once``, with the nonce as key),
which the view runs this inside. When the cache cannot be reached, the limit fails open
(``common.throttle``) and that key alone keeps a double tap to one report, never lost.
"""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from common import throttle
from issues.actions import intake, supporters
from issues.events import IssueActionError
from issues.models import Issue
from members.models import Community
from public import forms as public_forms

HOUR = 3600
# How often a second post of the same drawn form looks whether the first has finished.
POLL_SECONDS = 0.25


def report_once(
    form: public_forms.PublicReportForm,
    community: Community,
    *,
    client: str,
    per_hour: int,
    wait_seconds: float,
) -> str | int:
    """Report a valid form once, within the client's limit: its tracking code, else the
    status of the form page, whose errors are added to the form.

    Run inside ``submit_once`` with the form's nonce: its key holds a second post of the
    same form even when the cache cannot be reached (then there is no cache claim)."""
    submission = f"submission:{form.nonce}"
    cached = True
    try:
        earlier = claim_submission(form, submission, wait_seconds=wait_seconds)
    except throttle.Unavailable:
        cached, earlier = False, None
    if earlier is not None:
        return earlier
    limit_key = f"report:{client}"
    if not throttle.hit(limit_key, per_hour, HOUR):
        release_claim(submission, cached=cached)
        form.add_error(
            None,
            _(
                "Several reports were sent from this connection in the last hour. Please try "
                "again in an hour, or tell your community office in person or by phone."
            ),
        )
        return 429
    try:
        issue = intake.issue_report(
            actor=None,
            community=community,
            channel=Issue.Channel.PUBLIC_FORM,
            reporter=None,
            **form.report_fields(),
        )
    except (ValidationError, IssueActionError) as error:
        throttle.undo(limit_key, HOUR)
        release_claim(submission, cached=cached)
        if isinstance(error, ValidationError) and not hasattr(error, "error_dict"):
            form.add_error("photos", error)  # a photo that does not decode
        else:
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            form.add_error(None, messages)
        return 422
    if cached:
        throttle.settle(submission, issue.tracking_code, public_forms.MAX_FORM_AGE_SECONDS)
    # Kept without its photos when the file store could not take them: the page says so.
    form.photos_not_stored = issue.photos_not_stored
    return issue.tracking_code


def release_claim(submission: str, *, cached: bool) -> None:
    """Free the cache claim of a report that was refused, so the form can be corrected and
    sent again (its database key is rolled back with the refused report)."""
    if cached:
        throttle.release(submission)


def claim_submission(
    form: public_forms.PublicReportForm, submission: str, *, wait_seconds: float
) -> str | int | None:
    """Claim the drawn form for this post: None once claimed; else the tracking code of an
    earlier post of it, or 422 (the form refused, with a new stamp) if that post has not
    finished within ``wait_seconds``."""
    waited_until = time.monotonic() + wait_seconds
    while not throttle.claim(submission, public_forms.MAX_FORM_AGE_SECONDS):
        # This drawn form was sent before (a double tap): answer with that report.
        code = throttle.recall(submission)
        if code:
            return code
        if time.monotonic() > waited_until:
            form.nonce = None  # the form comes back with a new stamp, free of the stuck claim
            form.add_error(None, public_forms.REJECTED)
            return 422
        time.sleep(POLL_SECONDS)
    return None


def me_too_once(
    form: public_forms.PublicReportForm,
    community: Community,
    issue_id: str,
    *,
    client: str,
    per_hour: int,
) -> str | int:
    """Count the resident on an open matter of the community ("me too"), within the same
    hourly limit as reports: the matter's tracking code, else the status of the form page,
    whose errors are added to the form. A phone number is needed: it counts the resident
    once and tells them of progress."""
    if form.rejected:
        return 400
    phone = form.cleaned_data.get("contact_phone", "")
    if "contact_phone" in form.errors:
        return 422
    if not phone:
        form.add_error(
            "contact_phone",
            _("Leave your phone number to be counted: once only, and told of progress."),
        )
        return 422
    issue = Issue.objects.filter(
        community=community, pk=int(issue_id) if issue_id.isdigit() else 0
    ).first()
    if issue is None:
        form.add_error(None, _("That matter is not one of this community's open matters."))
        return 422
    limit_key = f"report:{client}"
    if not throttle.hit(limit_key, per_hour, HOUR):
        form.add_error(
            None,
            _(
                "Several reports were sent from this connection in the last hour. Please try "
                "again in an hour, or tell your community office in person or by phone."
            ),
        )
        return 429
    try:
        supporters.issue_me_too(
            issue=issue,
            actor=None,
            channel=Issue.Channel.PUBLIC_FORM,
            name=form.cleaned_data.get("contact_name", ""),
            phone=phone,
        )
    except IssueActionError as error:
        throttle.undo(limit_key, HOUR)
        form.add_error(None, str(error))
        return 422
    return issue.tracking_code
