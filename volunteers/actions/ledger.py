"""The service-hours ledger: every change of a balance is a new row, written with it.

``_post`` is the one writer: it locks the volunteer's balance row, refuses a change that
would take it below zero, appends the entry and moves the balance, all in one
transaction. Two exchanges at once queue on the lock; the second sees the first's
balance. The database's CHECK (minutes >= 0) holds even where the lock does not
(SQLite ignores ``select_for_update``; its writers are serialised instead).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import User
from volunteers.models import Attendance, Balance, Exchange, ExchangeRule, HoursEntry, Volunteer
from volunteers.refusals import VolunteerRefusal

MAX_CORRECTION_MINUTES = 24 * 60 * 30


def _post(
    *,
    volunteer: Volunteer,
    kind: str,
    minutes: int,
    actor: User,
    attendance: Attendance | None = None,
    exchange: Exchange | None = None,
    note: str = "",
) -> HoursEntry:
    # A credit counts on the day its activity took place; anything else on the day written.
    served_on = (
        timezone.localdate(attendance.activity.starts_at)
        if attendance is not None
        else timezone.localdate()
    )
    balance, _created = Balance.objects.get_or_create(volunteer=volunteer)
    balance = Balance.objects.select_for_update().get(pk=balance.pk)
    if balance.minutes + minutes < 0:
        raise VolunteerRefusal(
            _(
                "Not enough service time: %(name)s has %(have)s minutes, this needs "
                "%(need)s. Nothing was recorded."
            )
            % {"name": volunteer.resident.name, "have": balance.minutes, "need": -minutes}
        )
    entry = HoursEntry.objects.create(
        volunteer=volunteer,
        kind=kind,
        minutes=minutes,
        attendance=attendance,
        exchange=exchange,
        recorded_by=actor,
        note=note,
        served_on=served_on,
    )
    try:
        with transaction.atomic():
            Balance.objects.filter(pk=balance.pk).update(minutes=F("minutes") + minutes)
    except IntegrityError as error:  # the CHECK: another writer got there first
        raise VolunteerRefusal(
            _("Not enough service time for this. Nothing was recorded.")
        ) from error
    return entry


def credit_attendance(*, attendance: Attendance, actor: User) -> HoursEntry:
    """The credit for a confirmed attendance (the caller holds the attendance's row lock)."""
    return _post(
        volunteer=attendance.volunteer,
        kind=HoursEntry.Kind.CREDIT,
        minutes=attendance.credited_minutes,
        actor=actor,
        attendance=attendance,
    )


@transaction.atomic
def exchange_make(
    *, volunteer: Volunteer, rule: ExchangeRule, quantity: int = 1, actor: User, note: str = ""
) -> Exchange:
    """Spend service time on what ``rule`` gives, approved by ``actor``; refused above the
    balance, with nothing written."""
    if rule.community_id != volunteer.resident.community_id or not rule.is_active:
        raise VolunteerRefusal(_("This exchange rule is not one of the volunteer's community."))
    if quantity < 1:
        raise VolunteerRefusal(_("Exchange at least one."))
    minutes = rule.minutes * quantity
    exchange = Exchange.objects.create(
        volunteer=volunteer,
        rule=rule,
        quantity=quantity,
        minutes=minutes,
        gives=rule.gives if quantity == 1 else f"{rule.gives} × {quantity}",
        approved_by=actor,
        note=note,
    )
    _post(
        volunteer=volunteer,
        kind=HoursEntry.Kind.DEBIT,
        minutes=-minutes,
        actor=actor,
        exchange=exchange,
        note=note,
    )
    return exchange


@transaction.atomic
def correction_record(*, volunteer: Volunteer, minutes: int, actor: User, note: str) -> HoursEntry:
    """Put a mistake right with a new row (minutes signed); the rows before stay as they are."""
    if minutes == 0:
        raise VolunteerRefusal(_("A correction adds or takes away at least one minute."))
    if abs(minutes) > MAX_CORRECTION_MINUTES:
        raise VolunteerRefusal(_("A correction can move at most 30 days of minutes."))
    if not note.strip():
        raise VolunteerRefusal(_("Say why the correction is made."))
    return _post(
        volunteer=volunteer,
        kind=HoursEntry.Kind.CORRECTION,
        minutes=minutes,
        actor=actor,
        note=note.strip(),
    )


@transaction.atomic
def rule_create(*, community, minutes: int, gives: str, actor: User) -> ExchangeRule:
    """What the community gives for so many minutes of service."""
    if minutes < 1:
        raise VolunteerRefusal(_("A rule takes at least one minute of service."))
    return ExchangeRule.objects.create(community=community, minutes=minutes, gives=gives.strip())
