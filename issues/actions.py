"""Writes to issues: the only place an issue's state changes.

Each action is atomic, writes a timeline event (who, when, what, why), and
schedules notices after commit. Actions that change an issue take the
``expected_version`` the user's form was drawn from, so a stale form is refused
instead of silently overwriting someone else's change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from issues import events, extensions, lifecycle, permissions, photos, rollup, search
from issues.events import IssueActionError
from issues.models import Category, Escalation, Event, FollowUpReview, Issue, Photo
from issues.queries import community_staff_of, responsible_users, street_admins_of
from members import actions as members_actions
from members import notifications
from members.models import Community, Council, CouncilMember, Department, Resident, User

# No 0/O or 1/I/L: residents read tracking codes aloud and type them on phones.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TIER_ORDER = [Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY, Issue.Tier.STREET]
# While an escalation is open the street office holds the matter: the community
# cannot finish or park it behind the street's back.
STREET_HOLDS = {"resolve", "close", "defer", "not_actionable"}


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


@transaction.atomic
def issue_report(
    *,
    actor: User | None,
    community: Community,
    title: str,
    category: Category,
    channel: str,
    description: str = "",
    place: str = "",
    latitude=None,
    longitude=None,
    is_urgent: bool = False,
    reporter: Resident | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    uploads: Sequence[UploadedFile] = (),
) -> Issue:
    """Record a new issue from any channel; ``actor`` is None for the public form."""
    if category.street_id != community.street_id or not category.is_active:
        raise IssueActionError(_("Choose a category of this street."))
    if reporter is not None and reporter.community_id != community.pk:
        raise IssueActionError(_("The reporting resident must live in this community."))
    if len(uploads) > photos.MAX_PHOTOS:
        raise IssueActionError(_("At most %(n)s photos per issue.") % {"n": photos.MAX_PHOTOS})
    cleaned = [photos.process(upload) for upload in uploads]  # all checked before any write
    issue = Issue(
        community=community,
        title=title.strip(),
        description=description.strip(),
        category=category,
        place=place.strip(),
        latitude=latitude,
        longitude=longitude,
        is_urgent=is_urgent,
        channel=channel,
        reporter=reporter,
        contact_name=contact_name.strip(),
        contact_phone=contact_phone,
        entered_by=actor,
        tracking_code=_unused_tracking_code(),
    )
    issue.search_bigrams = search.document(issue.title, issue.description, issue.place)
    issue.full_clean()
    issue.save()
    rollup.issue_changed(issue)
    events.record(issue, actor, Event.Kind.CREATED, to_value=issue.status, public=True)
    for content in cleaned:
        _store_photo(issue, actor, content, Photo.Kind.REPORT)
    events.notify(
        responsible_users(issue),
        "issue_reported",
        issue,
        key=f"issue_reported:{issue.pk}",
        actor=actor,
    )
    return issue


@transaction.atomic
def issue_intake(
    *,
    actor: User,
    community: Community,
    new_resident: dict | None = None,
    **fields,
) -> Issue:
    """Staff enter a matter from any channel, registering its reporter if they are new."""
    if new_resident:
        fields["reporter"] = members_actions.resident_create(
            actor=actor, community=community, **new_resident
        )
    return issue_report(actor=actor, community=community, **fields)


@transaction.atomic
def issue_transition(
    *,
    issue: Issue,
    actor: User,
    name: str,
    note: str = "",
    expected_version: int | None = None,
) -> Issue:
    issue = events.lock(issue, expected_version)
    transition = lifecycle.check(issue, name, note=note)
    if (
        transition.name in STREET_HOLDS
        and issue.escalations.filter(state__in=Escalation.OPEN_STATES).exists()
    ):
        raise IssueActionError(
            _(
                "The street office is handling this matter. Wait for its confirmation, "
                "or ask it to return the matter to the community."
            )
        )
    before = issue.status
    issue.status = transition.target
    fields = ["status"]
    if transition.target == Issue.Status.RESOLVED:
        issue.resolved_at = timezone.now()
        fields.append("resolved_at")
    if transition.target == Issue.Status.NOT_ACTIONABLE:
        issue.outcome_note = note.strip()
        fields.append("outcome_note")
    if transition.target in (Issue.Status.CLOSED, Issue.Status.NOT_ACTIONABLE):
        issue.closed_at = timezone.now()
        fields.append("closed_at")
    elif issue.closed_at is not None:
        issue.closed_at = None
        fields.append("closed_at")
    if transition.name == "reopen":
        issue.resolved_at = None
        fields.append("resolved_at")
        _reviews_cancel(issue, timezone.now())
        _review_items_reopen(issue)
    if transition.target == Issue.Status.RESOLVED:
        _review_schedule(issue, issue.resolved_at)
    if transition.name == "close":
        _reviews_close(issue, timezone.now())
    events.save(issue, fields)
    events.record(
        issue,
        actor,
        Event.Kind.STATUS,
        from_value=before,
        to_value=issue.status,
        note=note,
        public=True,
        # The reporter sees why a matter is not actionable or reopened; other notes stay internal.
        note_public=transition.name in {"not_actionable", "reopen"},
    )
    return issue


def _review_schedule(issue: Issue, at: dt.datetime) -> FollowUpReview:
    """The follow-up review of a matter resolved at ``at``; the caller holds the issue's lock."""
    days = issue.category.review_after_days
    if days is None:
        # A community without a council row still gets reviewed, after the council default.
        days = (
            Council.objects.filter(community_id=issue.community_id)
            .values_list("review_after_days", flat=True)
            .first()
        )
    if days is None:
        days = Council._meta.get_field("review_after_days").default
    return FollowUpReview.objects.create(
        issue=issue, resolved_at=at, due_at=at + dt.timedelta(days=days)
    )


def _reviews_cancel(issue: Issue, at: dt.datetime) -> int:
    """Call off the live review of a reopened matter: there is nothing to review until it is
    resolved again, and the next resolve schedules a fresh one."""
    return FollowUpReview.objects.filter(issue=issue, state__in=FollowUpReview.LIVE_STATES).update(
        state=FollowUpReview.State.CANCELLED, cancelled_at=at
    )


def _reviews_close(issue: Issue, at: dt.datetime) -> int:
    """Staff closed the matter by hand: a review under way ends with it, closed; one not due
    yet is called off, since nobody went back to look (the figures would count it reviewed).

    (A review that settles itself is done before it closes the matter: nothing is live here.)
    """
    reviews = FollowUpReview.objects.filter(issue=issue)
    reviews.filter(state=FollowUpReview.State.PENDING).update(
        state=FollowUpReview.State.CANCELLED, cancelled_at=at
    )
    closed = reviews.filter(state=FollowUpReview.State.SENT).update(
        state=FollowUpReview.State.DONE, result=FollowUpReview.Result.CLOSED, finished_at=at
    )
    if closed:
        extensions.review_items_done(issue_id=issue.pk, now=at)
    return closed


def _review_items_reopen(issue: Issue) -> int:
    """A reopened matter waiting on an agenda for its review is deliberated there instead."""
    return extensions.review_items_reopen(issue_id=issue.pk)


@transaction.atomic
def issue_record_deliberation(
    *, issue: Issue, actor: User, at: dt.datetime, note: str = ""
) -> Issue:
    """Mark that a council meeting deliberated the issue (the meetings app calls this)."""
    issue = events.lock(issue, None)
    issue.deliberated_at = at
    events.save(issue, ["deliberated_at"])
    events.record(issue, actor, Event.Kind.DELIBERATED, to_value=at.date().isoformat(), note=note,
            public=True)  # fmt: skip
    return issue


@transaction.atomic
def issue_assign(
    *,
    issue: Issue,
    actor: User,
    members: Iterable[CouncilMember] = (),
    staff: User | None = None,
    due_on: dt.date | None = None,
    expected_version: int | None = None,
) -> Issue:
    issue = events.lock(issue, expected_version)
    if not issue.is_open:
        raise IssueActionError(_("A closed or resolved issue cannot be assigned."))
    members = list(members)
    if any(m.council.community_id != issue.community_id or not m.is_current for m in members):
        raise IssueActionError(
            _("Only current members of this community's council can be assigned.")
        )
    if (
        staff is not None
        and staff.pk != issue.assigned_staff_id
        and not permissions.may_be_assigned_issue(staff, issue)
    ):
        # Else someone outside the community would be told about, and own, a matter
        # they cannot even open.
        raise IssueActionError(_("Only staff of this community can be assigned."))
    before_members = sorted(issue.assigned_members.values_list("pk", flat=True))
    after_members = sorted(m.pk for m in members)
    changed = False
    if before_members != after_members or issue.assigned_staff_id != (staff.pk if staff else None):
        issue.assigned_members.set(members)
        issue.assigned_staff = staff
        names = [m.resident.name for m in members] + ([str(staff)] if staff else [])
        events.record(issue, actor, Event.Kind.ASSIGNED, note="、".join(names), public=False,
                data={"members": after_members, "staff": staff.pk if staff else None})  # fmt: skip
        changed = True
    if due_on != issue.due_on:
        before_due = issue.due_on
        issue.due_on = due_on
        events.record(issue, actor, Event.Kind.DUE,
                from_value=before_due.isoformat() if before_due else "",
                to_value=due_on.isoformat() if due_on else "", public=False)  # fmt: skip
        changed = True
    if changed:
        events.save(issue, ["assigned_staff", "due_on"])
        events.notify(
            [m.user for m in _member_accounts(members)] + ([staff] if staff else []),
            "issue_assigned",
            issue,
            key=f"issue_assigned:{issue.pk}:v{issue.version}",
            actor=actor,
        )
    return issue


@transaction.atomic
def issue_edit(
    *,
    issue: Issue,
    actor: User,
    expected_version: int | None,
    **fields,
) -> Issue:
    """Correct an issue's details (title, description, category, place, urgency)."""
    allowed = {"title", "description", "category", "place", "is_urgent"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    issue = events.lock(issue, expected_version)
    category = fields.get("category", issue.category)
    if category.street_id != issue.community.street_id:
        raise IssueActionError(_("Choose a category of this street."))
    changed = [name for name, value in fields.items() if getattr(issue, name) != value]
    if not changed:
        return issue
    for name in changed:
        setattr(issue, name, fields[name])
    issue.search_bigrams = search.document(issue.title, issue.description, issue.place)
    issue.full_clean()
    events.save(issue, [*changed, "search_bigrams"])
    events.record(issue, actor, Event.Kind.EDITED, note=", ".join(changed), public=False)
    return issue


@transaction.atomic
def issue_comment(*, issue: Issue, actor: User, text: str) -> Event:
    text = text.strip()
    if not text:
        raise IssueActionError(_("Write a comment first."))
    return events.record(issue, actor, Event.Kind.COMMENT, note=text, public=False)


@transaction.atomic
def issue_add_photos(
    *, issue: Issue, actor: User, uploads: Sequence[UploadedFile], kind: str = Photo.Kind.REPORT
) -> list[Photo]:
    issue = events.lock(issue, None)
    if issue.photos.count() + len(uploads) > photos.MAX_PHOTOS * 2:
        raise IssueActionError(_("This issue already has as many photos as it can hold."))
    if len(uploads) > photos.MAX_PHOTOS:
        raise IssueActionError(_("At most %(n)s photos at a time.") % {"n": photos.MAX_PHOTOS})
    cleaned = [photos.process(upload) for upload in uploads]
    stored = [_store_photo(issue, actor, content, kind) for content in cleaned]
    return stored


@transaction.atomic
def issue_escalate(
    *, issue: Issue, actor: User, reason: str, expected_version: int | None = None
) -> Issue:
    """Send a matter one tier up: council → community → street office."""
    reason = reason.strip()
    if not reason:
        raise IssueActionError(_("Please give a reason for escalating."))
    issue = events.lock(issue, expected_version)
    if not issue.is_open:
        raise IssueActionError(_("Only open issues can be escalated."))
    if issue.tier not in (Issue.Tier.COUNCIL, Issue.Tier.COMMUNITY):
        raise IssueActionError(_("This issue is already with the street office."))
    before = issue.tier
    issue.tier = TIER_ORDER[TIER_ORDER.index(before) + 1]
    events.save(issue, ["tier"])
    events.record(issue, actor, Event.Kind.ESCALATED, from_value=before, to_value=issue.tier,
            note=reason, public=True)  # fmt: skip
    if issue.tier == Issue.Tier.STREET:
        Escalation.objects.create(
            issue=issue, street_id=issue.community.street_id, reason=reason, raised_by=actor
        )
    events.notify(responsible_users(issue), "issue_escalated", issue,
            key=f"issue_escalated:{issue.pk}:v{issue.version}", actor=actor)  # fmt: skip
    return issue


@transaction.atomic
def escalation_accept(
    *, escalation: Escalation, actor: User, department: Department, deadline: dt.date
) -> Escalation:
    escalation = _lock_escalation(escalation, Escalation.State.PENDING)
    if department.street_id != escalation.street_id:
        raise IssueActionError(_("Choose a department of this street."))
    if deadline < timezone.localdate():
        raise IssueActionError(_("The deadline cannot be in the past."))
    issue = events.lock(escalation.issue, None)
    startable = {t.name for t in lifecycle.available(issue)}
    if issue.status != Issue.Status.IN_PROGRESS and "start" not in startable:
        raise IssueActionError(
            _("The matter is “%(status)s” at the community; return it to them instead.")
            % {"status": issue.get_status_display()}
        )
    escalation.state = Escalation.State.ACCEPTED
    escalation.department = department
    escalation.deadline = deadline
    escalation.decided_by = actor
    escalation.decided_at = timezone.now()
    escalation.save()
    rollup.escalation_changed(escalation)
    issue.tier = Issue.Tier.DEPARTMENT
    issue.assigned_department = department
    issue.due_on = deadline
    if "start" in {t.name for t in lifecycle.available(issue)}:
        before = issue.status
        issue.status = Issue.Status.IN_PROGRESS
        events.record(issue, actor, Event.Kind.STATUS, from_value=before, to_value=issue.status,
                public=True)  # fmt: skip
    events.save(issue, ["tier", "assigned_department", "due_on", "status"])
    events.record(issue, actor, Event.Kind.ACCEPTED, to_value=deadline.isoformat(),
            note=department.name, public=True)  # fmt: skip
    events.notify(responsible_users(issue), "escalation_assigned", issue,
            key=f"escalation_assigned:{escalation.pk}", actor=actor)  # fmt: skip
    return escalation


@transaction.atomic
def escalation_return(*, escalation: Escalation, actor: User, reason: str) -> Escalation:
    reason = reason.strip()
    if not reason:
        raise IssueActionError(_("Please say why the matter goes back to the community."))
    escalation = _lock_escalation(escalation, Escalation.State.PENDING)
    issue = events.lock(escalation.issue, None)
    escalation.state = Escalation.State.RETURNED
    escalation.return_reason = reason
    escalation.decided_by = actor
    escalation.decided_at = timezone.now()
    escalation.save()
    issue.tier = Issue.Tier.COMMUNITY
    events.save(issue, ["tier"])
    events.record(issue, actor, Event.Kind.RETURNED, from_value=Issue.Tier.STREET,
            to_value=Issue.Tier.COMMUNITY, note=reason, public=False)  # fmt: skip
    events.notify(responsible_users(issue), "escalation_returned", issue,
            key=f"escalation_returned:{escalation.pk}", actor=actor)  # fmt: skip
    return escalation


@transaction.atomic
def escalation_reply(
    *,
    escalation: Escalation,
    actor: User,
    reply: str,
    uploads: Sequence[UploadedFile] = (),
) -> Escalation:
    """The department reports the matter handled, with a reply and completion photos."""
    reply = reply.strip()
    if not reply:
        raise IssueActionError(_("Please describe what was done."))
    escalation = _lock_escalation(escalation, Escalation.State.ACCEPTED)
    if len(uploads) > photos.MAX_PHOTOS:
        raise IssueActionError(_("At most %(n)s photos at a time.") % {"n": photos.MAX_PHOTOS})
    cleaned = [photos.process(upload) for upload in uploads]
    issue = events.lock(escalation.issue, None)
    escalation.state = Escalation.State.HANDLED
    escalation.reply = reply
    escalation.handled_by = actor
    escalation.handled_at = timezone.now()
    escalation.save()
    rollup.escalation_changed(escalation)
    for content in cleaned:
        _store_photo(issue, actor, content, Photo.Kind.COMPLETION)
    events.save(issue, [])
    events.record(issue, actor, Event.Kind.HANDLED, note=reply, public=True)
    events.notify(street_admins_of(issue), "escalation_handled", issue,
            key=f"escalation_handled:{escalation.pk}", actor=actor)  # fmt: skip
    return escalation


@transaction.atomic
def escalation_confirm(*, escalation: Escalation, actor: User) -> Escalation:
    """The street office confirms the department's work; the issue is resolved."""
    escalation = _lock_escalation(escalation, Escalation.State.HANDLED)
    issue = events.lock(escalation.issue, None)
    transition = lifecycle.check(issue, "resolve")
    escalation.state = Escalation.State.CONFIRMED
    escalation.confirmed_at = timezone.now()
    escalation.save()
    before = issue.status
    issue.status = transition.target
    issue.resolved_at = timezone.now()
    _review_schedule(issue, issue.resolved_at)
    events.save(issue, ["status", "resolved_at"])
    events.record(issue, actor, Event.Kind.CONFIRMED, public=True)
    events.record(
        issue, actor, Event.Kind.STATUS, from_value=before, to_value=issue.status, public=True
    )
    events.notify([*responsible_users(issue), *community_staff_of(issue)], "issue_resolved", issue,
            key=f"issue_resolved:{issue.pk}:v{issue.version}", actor=actor)  # fmt: skip
    return escalation


@transaction.atomic
def category_save(*, actor: User, street, category: Category | None = None, **fields) -> Category:
    """Add a category to a street or change one; street admins keep the list."""
    if category is None:
        category = Category(street=street, code=f"custom-{secrets.token_hex(4)}")
    elif category.street_id != street.pk:
        raise IssueActionError(_("Choose a category of this street."))
    for name, value in fields.items():
        setattr(category, name, value)
    category.full_clean()
    category.save()
    return category


CONTACT_RETENTION = dt.timedelta(days=183)


def contact_details_erase(*, now: dt.datetime) -> int:
    """Blank the contact name and phone of matters closed for six months (PIPL art. 19).

    The forms promise it; the rows say when each matter closed, so running this
    any number of times erases each contact once.
    """
    erased = 0
    cutoff = now - CONTACT_RETENTION
    due = Issue.objects.filter(closed_at__lt=cutoff).exclude(contact_name="", contact_phone="")
    for issue_id in due.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            claimed = (
                Issue.objects.filter(pk=issue_id, closed_at__lt=cutoff)
                .exclude(contact_name="", contact_phone="")
                .update(contact_name="", contact_phone="")
            )
            if claimed:
                # The text messages that asked the reporter for a rating hold the number too.
                notifications.forget_phone(context_issue_id=issue_id)
                events.record(Issue(pk=issue_id), None, Event.Kind.CONTACT_ERASED, public=False)
                erased += 1
    return erased


def overdue_notify(*, issue_id: int, today: dt.date) -> int:
    """Remind the people responsible for one overdue issue, at most once per day."""
    with transaction.atomic():
        issue = Issue.objects.select_related("community", "category").get(pk=issue_id)
        if not issue.is_overdue(today):
            return 0
        key = f"overdue:{issue.pk}:{today.isoformat()}"
        sent = 0
        for user in responsible_users(issue):
            sent += len(notifications.notify(
                user, "issue_overdue", events.notice_context(issue), key=f"{key}:{user.pk}"
            ))  # fmt: skip
        if sent:
            events.record(issue, None, Event.Kind.OVERDUE, to_value=today.isoformat(), public=False)
        return sent


# --- helpers -----------------------------------------------------------------------


def _lock_escalation(escalation: Escalation, state: str) -> Escalation:
    # A conditional UPDATE claims the row: it holds on SQLite, which ignores FOR UPDATE.
    claimed = Escalation.objects.filter(pk=escalation.pk, state=state).update(state=state)
    if not claimed:
        raise IssueActionError(_("This escalation has already been dealt with."))
    return (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("issue", "street")
        .get(pk=escalation.pk)
    )


def _store_photo(issue: Issue, actor: User | None, content, kind: str) -> Photo:
    photo = Photo(issue=issue, uploaded_by=actor, kind=kind, size=content.size)
    photo.image.save(content.name, content, save=False)
    photo.save()
    events.record(
        issue, actor, Event.Kind.PHOTO, to_value=kind, public=False, data={"photo": photo.pk}
    )
    return photo


def _unused_tracking_code() -> str:
    while True:
        code = new_tracking_code()
        if not Issue.objects.filter(tracking_code=code).exists():
            return code


def _member_accounts(members: Iterable[CouncilMember]):
    from members.models import Role

    return Role.objects.filter(
        kind=Role.Kind.COUNCIL_MEMBER, council_member__in=list(members)
    ).select_related("user")
