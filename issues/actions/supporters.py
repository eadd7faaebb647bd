""" "Me too": a resident adds themselves to an open matter that looks like theirs instead of
reporting it a second time; the matter counts them once and tells them of its progress."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from issues import events
from issues.events import IssueActionError
from issues.models import Event, Issue, Supporter
from members import notifications
from members.models import Resident, User


@transaction.atomic
def issue_me_too(
    *,
    issue: Issue,
    actor: User | None,
    channel: str,
    resident: Resident | None = None,
    user: User | None = None,
    name: str = "",
    phone: str = "",
) -> tuple[Supporter | None, bool]:
    """Count one more resident on the matter. Returns (supporter, counted now); a person
    already counted (or the reporter) is counted again never: (their row or None, False)."""
    if resident is None and user is None and not phone:
        raise IssueActionError(
            _("Say who else has this problem (a resident or a phone number) to count them.")
        )
    issue = events.lock(issue, None)
    if not issue.is_open:
        raise IssueActionError(_("This matter is no longer open: please report it as a new one."))
    if resident is not None and resident.community_id != issue.community_id:
        raise IssueActionError(_("The reporting resident must live in this community."))
    if (resident is not None and resident.pk == issue.reporter_id) or (
        phone and phone == issue.contact_phone
    ):
        return None, False
    same = Q(pk__in=[])
    if resident is not None:
        same |= Q(resident=resident)
    if user is not None:
        same |= Q(user=user)
    if phone:
        same |= Q(phone=phone)
    existing = issue.supporters.filter(same).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            supporter = Supporter.objects.create(
                issue=issue,
                resident=resident,
                user=user,
                name=(name or (resident.name if resident else "")).strip()[:50],
                phone=phone or (resident.phone if resident else ""),
                channel=channel,
                entered_by=actor,
            )
    except IntegrityError:  # the same person counted meanwhile
        return issue.supporters.filter(same).first(), False
    issue.supporter_count = issue.supporters.count()
    events.save(issue, ["supporter_count"])
    # Public, without who: the tracking page says the matter concerns more residents.
    events.record(
        issue,
        actor,
        Event.Kind.ME_TOO,
        to_value=str(issue.supporter_count),
        public=True,
        data={"supporter": supporter.pk},
    )
    return supporter, True


def supporters_tell(issue: Issue, kind: str, context: dict, *, key: str) -> int:
    """Text each resident counted on the matter (``kind`` to residents), once per ``key``."""
    messages = {
        f"{key}:s{pk}": (phone, context)
        for pk, phone in issue.supporters.exclude(phone="").values_list("pk", "phone")
    }
    return len(notifications.notify_phones(kind, messages)) if messages else 0
