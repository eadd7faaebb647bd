"""Joint meetings (联席会议): a council's meeting held together with other councils.

Staff of the host council's community join councils of the communities they are staff
of; the street's admin joins councils of any community of that street, and convenes a
joint meeting from the street's pages. Every change is logged (who, when, which council).
The joined councils' members hear of the meeting as the host's do: a notice already sent
goes to them under the same key, so a person on two of the councils is told once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from deliberation import permissions, queries
from deliberation.actions.base import ActionError
from deliberation.models import JointCouncil, JointCouncilChange, Meeting
from members import notifications
from members.models import Council, User
from members.queries import scope_of


def _check_joinable(actor: User, host: Council, council: Council) -> None:
    """Refuse a council the actor may not bring to a meeting of ``host``."""
    scope = scope_of(actor)
    if council.pk == host.pk:
        raise ActionError(_("The host council is at its own meeting already."))
    if council.community.street_id != host.community.street_id:
        raise ActionError(
            _(
                "A council of another street cannot join: a joint meeting brings together "
                "councils of one street."
            )
        )
    if council.community_id in scope.staff_community_ids:
        return
    if host.community.street_id in scope.admin_street_ids:
        return
    raise ActionError(
        _(
            "%(council)s is a council of another community: only the street's admin can "
            "join councils of several communities."
        )
        % {"council": council.name}
    )


@transaction.atomic
def joined_councils_set(
    *, meeting: Meeting, actor: User, councils: Iterable[Council]
) -> tuple[list[Council], list[Council]]:
    """Make the meeting joint with exactly ``councils`` (none: the host's meeting alone).

    Returns (joined now, taken off). Refused once the meeting is over, for a council of
    another street, and for one the actor's roles do not reach. A council taken off after
    the notice went out keeps it; its members no longer see the meeting.
    """
    locked = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("council__community")
        .get(pk=meeting.pk)
    )
    host = locked.council
    if not permissions.can_join_councils(actor, locked):
        raise ActionError(_("Only the community's staff or the street's admin can do this."))
    if locked.state == Meeting.State.CANCELLED:
        raise ActionError(_("This meeting was cancelled."))
    if locked.state == Meeting.State.HELD:
        raise ActionError(_("This meeting has been closed."))
    wanted = {council.pk: council for council in councils}
    current = {
        row.council_id: row.council
        for row in JointCouncil.objects.filter(meeting=locked).select_related("council")
    }
    added = [wanted[pk] for pk in wanted if pk not in current]
    removed = [current[pk] for pk in current if pk not in wanted]
    for council in added:
        _check_joinable(actor, host, council)
    now = timezone.now()
    if removed:
        JointCouncil.objects.filter(meeting=locked, council__in=removed).delete()
    JointCouncil.objects.bulk_create(
        [JointCouncil(meeting=locked, council=c, added_by=actor, added_at=now) for c in added]
    )
    _changes_log(locked, actor, now, joined=added, left=removed)
    if added or removed:
        Meeting.objects.filter(pk=locked.pk).update(updated=now)
    meeting.__dict__.pop("_councils_at", None)
    if added and locked.notice_sent_at is not None:
        _tell_joined(locked)
    return added, removed


def _tell_joined(meeting: Meeting) -> None:
    """Send the meeting's notice to every member of its councils not told yet: the key is
    the one the periodic notice uses, so nobody hears twice."""
    context = queries.notice_context(meeting)
    for user in queries.meeting_member_accounts(meeting):
        notifications.notify(
            user, "meeting_notice", context, key=f"meeting_notice:{meeting.pk}:{user.pk}"
        )


@transaction.atomic
def joint_meeting_convene(
    *,
    actor: User,
    host: Council,
    councils: Iterable[Council],
    starts_at: dt.datetime,
    place: str = "",
    notice_days: int = 3,
) -> Meeting:
    """A street's admin convenes a joint meeting of ``host`` with ``councils``.

    The meeting is the host council's (its staff run it, with the joined communities'),
    marked as convened by the street, and announced like any other: by the periodic
    notice when its time comes, at once when that time has passed already.
    """
    scope = scope_of(actor)
    street_id = host.community.street_id
    if street_id not in scope.admin_street_ids:
        raise ActionError(_("Only the street's admin can convene a joint meeting of its councils."))
    councils = [council for council in councils if council.pk != host.pk]
    if not councils:
        raise ActionError(_("Choose at least one council to meet with the host council."))
    now = timezone.now()
    if starts_at <= now:
        raise ActionError(_("Choose a time in the future."))
    for council in councils:
        _check_joinable(actor, host, council)
    try:
        with transaction.atomic():
            meeting = Meeting.objects.create(
                council=host,
                starts_at=starts_at,
                place=place.strip(),
                kind=Meeting.Kind.URGENT,
                notice_due_at=max(now, starts_at - dt.timedelta(days=notice_days)),
                convened_by_street_id=street_id,
            )
    except IntegrityError as error:
        raise ActionError(
            _("%(council)s already has a meeting at %(when)s; choose another time.")
            % {"council": host.name, "when": queries.local_time(starts_at)}
        ) from error
    JointCouncil.objects.bulk_create(
        [JointCouncil(meeting=meeting, council=c, added_by=actor, added_at=now) for c in councils]
    )
    _changes_log(meeting, actor, now, joined=councils)
    return meeting


def _changes_log(
    meeting: Meeting, actor: User, now, *, joined: Iterable[Council], left: Iterable[Council] = ()
) -> None:
    """Who made the meeting joint with each council, or took one off, and when."""
    Change = JointCouncilChange.Change
    JointCouncilChange.objects.bulk_create(
        JointCouncilChange(meeting=meeting, council=council, change=change, actor=actor, at=now)
        for change, councils in ((Change.JOINED, joined), (Change.LEFT, left))
        for council in councils
    )
