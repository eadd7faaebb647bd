"""Follow-up reviews (回头议) and residents' ratings (评单): every write about them.

Resolving a matter books a pending review due some days later (``issues.actions``). When
it is due the sweeper claims it and asks the reporter by text message for a rating (a link
that is secret, valid for 30 days and usable once); the meetings app then takes the reviews
sent and puts a 回头议 item for each on its council's next meeting
(``deliberation.actions.review_items``). The resident's rating and the council's own
review settle it: a "no", a rating of 1–2, or the council finding the fix did not work
reopens the matter; otherwise the council's review closes it.

The rows are the record of the work. A sweep claims rows under locks that other sweepers
skip (PostgreSQL) or behind SQLite's write lock, in the same transaction as the notice it
writes: a worker that dies mid-sweep leaves its rows pending for the
next sweep, and the notices' keys keep anyone from being asked twice.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from common import throttle
from issues import events, extensions
from issues.actions import handling
from issues.models import Event, FollowUpReview, Issue, Rating
from issues.queries import community_staff_of, reporter_phone, responsible_users
from members import notifications
from members.models import User

LINK_VALID = dt.timedelta(days=30)
REMIND_AFTER = dt.timedelta(days=3)
# Reviews claimed per transaction: one commit per batch, and a short hold on their issues.
SWEEP_BATCH = 200
TOKEN_SALT = "yishi.rating-link"
TOKEN = re.compile(r"^([1-9][0-9]{0,17})-([0-9a-f]{16})$")

R = FollowUpReview.State


class ReviewRefused(events.IssueActionError):
    """The review cannot take this now; the message says why."""


class ResendLimited(ReviewRefused):
    """The rating link was texted again too often; the message says when to try."""


# --- The rating link ---------------------------------------------------------------------


def _digest(review_id: int, nonce: str, secret: str) -> str:
    return salted_hmac(TOKEN_SALT, f"{review_id}:{nonce}", secret=secret).hexdigest()[:16]


def rating_token(review: FollowUpReview) -> str:
    """``<id>-<16 hex digits>``: short enough for a text message, and unguessable."""
    return f"{review.pk}-{_digest(review.pk, review.nonce, settings.SECRET_KEY)}"


def rating_url(review: FollowUpReview) -> str:
    return settings.BASE_URL + reverse("public:rate", args=[rating_token(review)])


def review_from_token(token: str) -> FollowUpReview | None:
    """The review a token names; None for anything malformed, forged or unknown."""
    match = TOKEN.match(token or "")
    if not match:
        return None
    review = (
        FollowUpReview.objects.select_related("issue__community", "rating")
        .filter(pk=int(match[1]))
        .first()
    )
    if review is None:
        return None
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(
        constant_time_compare(match[2], _digest(review.pk, review.nonce, secret))
        for secret in secrets
    ):
        return None
    return review


def link_state(review: FollowUpReview, now: dt.datetime) -> str:
    """What the rating link can do now: "open", "rated", "expired", "cancelled" or "unsent"."""
    if review.state == R.CANCELLED:
        return "cancelled"
    if hasattr(review, "rating"):
        return "rated"
    if review.link_expires_at is None:
        return "unsent"
    if now >= review.link_expires_at:
        return "expired"
    return "open"


# How often the reporter may have the rating link texted again from the tracking page.
RESEND_SLOT_SECONDS = 10 * 60
RESENDS_PER_DAY = 3
DAY_SECONDS = 24 * 3600


def resend_rating_link(review: FollowUpReview, *, now: dt.datetime) -> None:
    """Text the rating link again to the reporter's number, and only there.

    At most one text per 10-minute slot and ``RESENDS_PER_DAY`` a calendar day for each
    review; the counters' keys name the slot and the day (so they hold whatever the cache's
    clock), and the notice's key names the slot, so two quick taps send one message. Refused with
    a message for the resident when the link is closed, no number is known or the limit
    is reached.
    """
    if link_state(review, now) != "open":
        raise ReviewRefused(_("This rating link can no longer be used."))
    phone = reporter_phone(review.issue)
    if not phone:
        raise ReviewRefused(_("No phone number was left with this report."))
    slot = int(now.timestamp()) // RESEND_SLOT_SECONDS
    slot_key = f"review_resend:{review.pk}:slot:{slot}"
    day_key = f"review_resend:{review.pk}:day:{timezone.localdate(now).isoformat()}"
    refused = ResendLimited(
        _("The link was sent a short while ago. Please wait a few minutes before asking again.")
    )
    if not throttle.hit(slot_key, 1, RESEND_SLOT_SECONDS):
        raise refused
    if not throttle.hit(day_key, RESENDS_PER_DAY, DAY_SECONDS):
        throttle.undo(slot_key, RESEND_SLOT_SECONDS)
        raise ResendLimited(
            _("The link was already sent again several times today. Please try tomorrow.")
        )
    with transaction.atomic():
        notifications.notify_phones(
            "review_invite",
            {f"review_invite:{review.pk}:resend:{slot}": (phone, _review_notice_context(review))},
        )


# --- The sweeper ---------------------------------------------------------------------------


def reviews_send_due(*, now: dt.datetime, batch: int = SWEEP_BATCH) -> int:
    """Claim and send every review due by ``now``, a batch per transaction; returns how many."""
    sent = 0
    while claimed := _send_batch(now, batch):
        sent += claimed
    return sent


def claimable(queryset):
    """Lock the rows another sweeper holds out of the result instead of waiting for them.

    SQLite has no row locks: its transactions take the write lock up front (IMMEDIATE),
    so one sweeper at a time reads and claims.
    """
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self", "issue"))
    return queryset


@transaction.atomic
def _send_batch(now: dt.datetime, size: int) -> int:
    due = claimable(
        FollowUpReview.objects.filter(state=R.PENDING, due_at__lte=now)
        .select_related("issue__community", "issue__reporter")
        .order_by("due_at", "id")
    )
    reviews = list(due[:size])
    if not reviews:
        return 0
    ids = [review.pk for review in reviews]
    # The conditional UPDATE is the claim: a row a concurrent run took is no longer pending.
    FollowUpReview.objects.filter(pk__in=ids, state=R.PENDING).update(
        state=R.SENT,
        claimed_at=now,
        sent_at=now,
        link_expires_at=now + LINK_VALID,
        remind_at=now + REMIND_AFTER,
    )
    ours = set(
        FollowUpReview.objects.filter(pk__in=ids, state=R.SENT, claimed_at=now).values_list(
            "pk", flat=True
        )
    )
    reviews = [review for review in reviews if review.pk in ours]
    rated = set(Rating.objects.filter(review_id__in=ours).values_list("review_id", flat=True))
    sent_events, invites = [], {}
    for review in reviews:
        phone = "" if review.pk in rated else reporter_phone(review.issue)
        if phone:
            invites[f"review_invite:{review.pk}"] = (phone, _review_notice_context(review))
        sent_events.append(
            Event(
                issue_id=review.issue_id,
                kind=Event.Kind.REVIEW_SENT,
                data={"review": review.pk, "asked": bool(phone)},
                is_public=True,
            )
        )
    notifications.notify_phones("review_invite", invites)
    Event.objects.bulk_create(sent_events)
    return len(reviews)


def _review_notice_context(review: FollowUpReview) -> dict:
    issue = review.issue
    return {
        "title": issue.title,
        "community": issue.community.name,
        "issue_id": issue.pk,
        "link": rating_url(review),
    }


def reviews_waiting_for_agenda():
    """Reviews sent and not yet on a meeting's agenda, oldest first; the meetings app takes
    them (claimed with ``claimable``) for its councils' next meetings."""
    return FollowUpReview.objects.filter(
        state=R.SENT, put_on_agenda_at__isnull=True, council_outcome=""
    ).order_by("sent_at", "id")


def reviews_mark_placed(*, review_ids: list[int], now: dt.datetime) -> int:
    """Record that these reviews are on an agenda now; the caller holds them."""
    return FollowUpReview.objects.filter(pk__in=review_ids).update(put_on_agenda_at=now)


def reviews_remind(*, now: dt.datetime, limit: int = 1000) -> int:
    """Remind, once, reporters who have not rated three days after being asked."""
    due = (
        FollowUpReview.objects.filter(
            Q(state=R.SENT) | Q(state=R.DONE, result=FollowUpReview.Result.CLOSED),
            reminded_at__isnull=True,
            remind_at__lte=now,
            link_expires_at__gt=now,
            rating__isnull=True,
        )
        .order_by("remind_at", "id")
        .values_list("pk", flat=True)
    )
    reminded = 0
    for review_id in list(due[:limit]):
        with transaction.atomic():
            claimed = FollowUpReview.objects.filter(pk=review_id, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue  # another sweeper took it
            review = FollowUpReview.objects.select_related(
                "issue__community", "issue__reporter"
            ).get(pk=review_id)
            phone = reporter_phone(review.issue)
            if not phone:
                continue
            notifications.notify_phone(
                phone,
                "review_reminder",
                _review_notice_context(review),
                key=f"review_reminder:{review.pk}",
            )
            Event.objects.create(
                issue_id=review.issue_id,
                kind=Event.Kind.REVIEW_REMINDED,
                data={"review": review.pk},
                is_public=False,
            )
            reminded += 1
    return reminded


# --- Ratings and the council's review --------------------------------------------------------


@transaction.atomic
def review_rate(
    *,
    review: FollowUpReview,
    actor: User | None,
    fixed: str,
    satisfaction: int,
    comment: str = "",
    source: str = Rating.Source.LINK,
    now: dt.datetime | None = None,
) -> Rating:
    """Record the resident's rating, once; a bad one reopens the matter.

    ``actor`` is None for the rating link; staff who collected a rating in person or by
    phone record it as themselves, with that ``source``.
    """
    now = now or timezone.now()
    if fixed not in Rating.Fixed.values:
        raise ReviewRefused(_("Say whether the problem was fixed."))
    if satisfaction not in Rating.Satisfaction.values:
        raise ReviewRefused(_("Choose how satisfied the resident is, from 1 to 5."))
    if source not in Rating.Source.values:
        raise ValueError(f"unknown rating source: {source!r}")
    if (source == Rating.Source.LINK) != (actor is None):
        raise ValueError("a rating by link has no actor; one recorded by staff has one")
    issue = events.lock(review.issue, None)
    review = FollowUpReview.objects.select_for_update().get(pk=review.pk)
    if review.state == R.CANCELLED:
        raise ReviewRefused(
            _("This follow-up review was called off: the matter was reopened before it.")
        )
    if source == Rating.Source.LINK:
        if review.link_expires_at is None:
            raise ReviewRefused(_("This rating link is not valid."))
        if now >= review.link_expires_at:
            raise ReviewRefused(_("This rating link has expired."))
    if Rating.objects.filter(review=review).exists():
        raise ReviewRefused(_("This outcome has already been rated."))
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                review=review,
                fixed=fixed,
                satisfaction=satisfaction,
                comment=comment.strip()[:500],
                source=source,
                recorded_by=actor,
            )
    except IntegrityError as error:  # two taps at once: the one-to-one keeps one
        raise ReviewRefused(_("This outcome has already been rated.")) from error
    events.record(
        issue,
        actor,
        Event.Kind.RATED,
        to_value=str(satisfaction),
        note=rating.comment,
        public=True,
        data={"review": review.pk, "fixed": fixed, "source": source},
    )
    _settle(review, issue, actor, now, rating=rating)
    return rating


@transaction.atomic
def review_council_record(
    *, issue: Issue, actor: User, outcome: str, notes: str = "", now: dt.datetime | None = None
) -> FollowUpReview:
    """The council's own review of the matter at a meeting: it closes or reopens it.

    A resident who has not replied does not hold this up.
    """
    now = now or timezone.now()
    if outcome not in FollowUpReview.CouncilOutcome.values:
        raise ReviewRefused(_("Say whether the fix worked."))
    issue = events.lock(issue, None)
    review = (
        FollowUpReview.objects.select_for_update(of=("self",))
        .filter(issue=issue, state=R.SENT)
        .select_related("rating")
        .first()
    )
    if review is None:
        raise ReviewRefused(
            _("This matter has no follow-up review waiting: it was reopened or already reviewed.")
        )
    review.council_outcome = outcome
    review.council_notes = notes.strip()
    review.council_recorded_at = now
    review.council_recorded_by = actor
    review.save(
        update_fields=["council_outcome", "council_notes", "council_recorded_at",
                       "council_recorded_by"]
    )  # fmt: skip
    events.record(
        issue,
        actor,
        Event.Kind.REVIEWED,
        to_value=outcome,
        note=review.council_notes,
        public=True,
        data={"review": review.pk},
    )
    return _settle(review, issue, actor, now, rating=getattr(review, "rating", None))


def _settle(
    review: FollowUpReview,
    issue: Issue,
    actor: User | None,
    now: dt.datetime,
    *,
    rating: Rating | None,
) -> FollowUpReview:
    """Close or reopen the matter once what is known of the review says which."""
    not_effective = review.council_outcome == FollowUpReview.CouncilOutcome.NOT_EFFECTIVE
    if (rating is not None and rating.reopens) or not_effective:
        if issue.status not in (Issue.Status.RESOLVED, Issue.Status.CLOSED):
            return review  # reopened by hand meanwhile: nothing more to undo
        _finish(review, FollowUpReview.Result.REOPENED, now)
        if rating is not None and rating.reopens:
            reason = _("Follow-up review: the resident says the problem was not fixed.")
        else:
            reason = _("Follow-up review: the council found the fix did not work.")
        if review.council_notes and not_effective:
            reason = f"{reason}\n{review.council_notes}"
        issue = handling.issue_transition(issue=issue, actor=actor, name="reopen", note=reason)
        events.notify(
            [*responsible_users(issue), *community_staff_of(issue)],
            "issue_reopened",
            issue,
            key=f"issue_reopened:{issue.pk}:v{issue.version}",
            actor=actor,
        )
        return review
    if review.council_outcome == FollowUpReview.CouncilOutcome.EFFECTIVE:
        if issue.status != Issue.Status.RESOLVED:
            return review
        _finish(review, FollowUpReview.Result.CLOSED, now)
        extensions.review_items_done(issue_id=issue.pk, now=now)
        handling.issue_transition(issue=issue, actor=actor, name="close", note=review.council_notes)
    return review


def _finish(review: FollowUpReview, result: str, now: dt.datetime) -> None:
    review.state = R.DONE
    review.result = result
    # A bad rating after the council closed the matter reopens it; the review stays dated.
    review.finished_at = review.finished_at or now
    review.save(update_fields=["state", "result", "finished_at"])
