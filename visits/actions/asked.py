"""Visits a resident asks for (应约走访) from the community's public page: taken in, given a
date by a member of the team paired with the community (the resident gets one text), and
closed by the visit recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from members import notifications
from members.models import Community, Resident, User
from visits import permissions
from visits.actions import VisitsRefusal, visiting
from visits.models import AskedPhoneReveal, AskedVisit, Pairing, Team, Visit

NOTICE = "asked_visit_scheduled"
# What the form promises: contact details go six months after the visit was made, or a
# year after asking when no visit was made.
KEPT_AFTER_VISIT = dt.timedelta(days=183)
KEPT_UNVISITED = dt.timedelta(days=365)


def team_of_community(community: Community) -> Team | None:
    """The team a resident's request goes to: the one paired with the whole community,
    else the first paired with a lane or building in it."""
    pairing = (
        Pairing.objects.filter(community=community, ended_on__isnull=True)
        .select_related("team")
        .order_by("building", "lane", "id")  # the whole community ("", "") first
        .first()
    )
    return pairing.team if pairing else None


@transaction.atomic
def asked_visit_create(
    *,
    community: Community,
    name: str,
    topic: str,
    phone: str = "",
    phone_consent: bool = False,
    address: str = "",
    preferred_times: str = "",
    now: dt.datetime | None = None,
) -> AskedVisit:
    """A resident's request, for the team paired with the community. It needs a phone
    number (given with consent to be contacted at it) or an address to go to."""
    now = now or timezone.now()
    name, topic, phone, address = name.strip(), topic.strip(), phone.strip(), address.strip()
    if not name or not topic:
        raise VisitsRefusal(_("Give your name and what you would like to talk about."))
    if not phone and not address:
        raise VisitsRefusal(
            _("Leave a phone number or an address, so that the team can reach you.")
        )
    if phone and not phone_consent:
        raise VisitsRefusal(_("Agree to be contacted at this number, or leave only your address."))
    team = team_of_community(community)
    if team is None:
        raise VisitsRefusal(
            _("No visiting team works in this community yet: please ask the community office.")
        )
    return AskedVisit.objects.create(
        community=community,
        team=team,
        name=name,
        phone=phone,
        phone_consent_at=now if phone else None,
        address=address,
        topic=topic,
        preferred_times=preferred_times.strip(),
    )


@transaction.atomic
def asked_visit_schedule(
    *, actor: User, asked: AskedVisit, when: dt.datetime, now: dt.datetime | None = None
) -> AskedVisit:
    """Give the request its date and time; the resident is texted it once."""
    now = now or timezone.now()
    asked = (
        AskedVisit.objects.select_for_update().select_related("team", "community").get(pk=asked.pk)
    )
    if not permissions.may_record_visit(actor, asked.team):
        raise VisitsRefusal(_("Only the team's members schedule its visits."))
    if asked.state != AskedVisit.State.REQUESTED:
        raise VisitsRefusal(_("This visit already has a date."))
    if when <= now:
        raise VisitsRefusal(_("Choose a date and time still to come."))
    asked.state = AskedVisit.State.SCHEDULED
    asked.scheduled_for = when
    asked.scheduled_by = actor
    asked.save(update_fields=["state", "scheduled_for", "scheduled_by"])
    if asked.phone:
        local = timezone.localtime(when)
        notifications.notify_phone(
            asked.phone,
            NOTICE,
            {
                "community": asked.community.name,
                "team": asked.team.name,
                "when": f"{formats.date_format(local, 'Y-m-d')} {local:%H:%M}",
            },
            key=f"{NOTICE}:{asked.pk}",
        )
    return asked


@transaction.atomic
def asked_visit_record(
    *,
    actor: User,
    asked: AskedVisit,
    resident: Resident,
    visited_on: dt.date,
    visitors: Iterable[User] = (),
    notes: str = "",
    today: dt.date | None = None,
) -> Visit:
    """The visit made (a household of the team's compounds): it closes the request."""
    asked = AskedVisit.objects.select_for_update().select_related("team").get(pk=asked.pk)
    if asked.state not in AskedVisit.OPEN_STATES:
        raise VisitsRefusal(_("This visit was already recorded."))
    visit = visiting.visit_record(
        actor=actor,
        team=asked.team,
        resident=resident,
        kind=Visit.Kind.ASKED_FOR,
        visited_on=visited_on,
        visitors=visitors,
        notes=notes,
        today=today,
    )
    asked.visit = visit
    asked.state = AskedVisit.State.VISITED
    asked.save(update_fields=["visit", "state"])
    return visit


@transaction.atomic
def asked_phone_reveal(*, actor: User, asked: AskedVisit) -> str:
    """The full number the resident left, for a member of the team, on the record."""
    if not permissions.may_record_visit(actor, asked.team):
        raise VisitsRefusal(_("Only the team's members record its visits."))
    AskedPhoneReveal.objects.create(actor=actor, asked=asked)
    return asked.phone


def asked_contacts_erase(*, now: dt.datetime | None = None) -> int:
    """Blank the name, phone, address and preferred times residents left when asking for
    a visit, as the form promises (PIPL art. 19): six months after the visit, or a year
    after asking when no visit was made; the text that gave the date forgets the number
    too. What the team recorded of the visit stays. Running it again erases nothing more.
    """
    now = now or timezone.now()
    due = AskedVisit.objects.filter(contact_erased_at__isnull=True).filter(
        Q(visit__created__lt=now - KEPT_AFTER_VISIT) | Q(created__lt=now - KEPT_UNVISITED)
    )
    erased = 0
    for asked_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            claimed = AskedVisit.objects.filter(pk=asked_id, contact_erased_at__isnull=True).update(
                name="", phone="", address="", preferred_times="", contact_erased_at=now
            )
            if claimed:
                notifications.forget_phone_of(key=f"{NOTICE}:{asked_id}")
                erased += 1
    return erased
