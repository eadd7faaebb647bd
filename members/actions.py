"""Writes to people and places: the only place their state changes."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common import versions
from common.refusals import Refusal
from members import notifications, permissions
from members.models import (
    Community,
    Council,
    CouncilMember,
    ExportRecord,
    OutsideUnit,
    PhoneReveal,
    Resident,
    User,
)

RESIDENT_FIELDS = ("name", "phone", "lane", "building", "room", "note")
MEMBER_FIELDS = (
    "role",
    "category",
    "is_lane_leader",
    "covers_lane",
    "is_building_leader",
    "covers_building",
    "is_party_household",
)


class ActionError(Refusal):
    """A request the domain refuses; the message is shown to the user."""


@transaction.atomic
def resident_create(*, actor: User, community: Community, **fields: str) -> Resident:
    resident = Resident(community=community, **_only(fields, RESIDENT_FIELDS))
    resident.full_clean()
    resident.save()
    return resident


@transaction.atomic
def resident_update(
    *, actor: User, resident: Resident, expected_version: int | None = None, **fields: str
) -> Resident:
    """Correct a resident's details; a form drawn from an older version is refused."""
    changes = _only(fields, RESIDENT_FIELDS)
    resident = versions.lock(Resident, resident.pk, expected_version)
    for name, value in changes.items():
        setattr(resident, name, value)
    resident.full_clean()
    versions.bump(resident, [*changes, "updated"])
    return resident


@transaction.atomic
def resident_deactivate(*, actor: User, resident: Resident, reason: str = "") -> Resident:
    """Mark a resident as moved away or otherwise inactive; the record stays.

    A resident who serves on the council must leave the council first, so the
    council never lists someone the community no longer counts.
    """
    if not resident.is_active:
        raise ActionError(_("This resident is already inactive."))
    if resident.council_terms.filter(left_on__isnull=True).exists():
        raise ActionError(
            _("This resident serves on the council. Record their leaving the council first.")
        )
    resident.is_active = False
    resident.deactivated_at = timezone.now()
    resident.deactivation_reason = reason
    # The number was kept to reach a resident of this community; they have left (PIPL art. 47).
    resident.phone = ""
    resident.save(
        update_fields=["is_active", "deactivated_at", "deactivation_reason", "phone", "updated"]
    )
    return resident


@transaction.atomic
def resident_reactivate(*, actor: User, resident: Resident) -> Resident:
    if resident.is_active:
        raise ActionError(_("This resident is already active."))
    resident.is_active = True
    resident.deactivated_at = None
    resident.deactivation_reason = ""
    resident.save(update_fields=["is_active", "deactivated_at", "deactivation_reason", "updated"])
    return resident


@transaction.atomic
def phone_reveal(*, actor: User, resident: Resident) -> str:
    """Return a resident's full phone number and record who saw it, and when."""
    PhoneReveal.objects.create(actor=actor, resident=resident)
    return resident.phone


@transaction.atomic
def unit_add(
    *, actor: User, community: Community, name: str, contact_name: str, phone: str
) -> OutsideUnit:
    """Record a unit based in the area, whose contact person the community invites."""
    name = name.strip()
    if OutsideUnit.objects.filter(community=community, name=name).exists():
        raise ActionError(_("%(name)s is already on the list.") % {"name": name})
    return OutsideUnit.objects.create(
        community=community, name=name, contact_name=contact_name.strip(), phone=phone
    )


@transaction.atomic
def unit_phone_reveal(*, actor: User, unit: OutsideUnit) -> str:
    """Return a unit contact's full phone number and record who saw it, and when."""
    PhoneReveal.objects.create(actor=actor, unit=unit)
    return unit.phone


@transaction.atomic
def export_record(
    *, actor: User, kind: str, format: str, filters: dict, full_phones: bool
) -> ExportRecord:
    """Record an export of personal data before its first byte leaves (PIPL art. 51).

    ``rows`` stays empty until ``export_finish``: an export cut off half-way is still
    on the record, and its empty count says it did not complete.
    """
    return ExportRecord.objects.create(
        actor=actor, kind=kind, format=format, filters=filters, full_phones=full_phones
    )


@transaction.atomic
def export_finish(*, record: ExportRecord, rows: int) -> ExportRecord:
    """The export was written to its end: keep how many rows it held."""
    record.rows = rows
    record.rows_written = rows
    record.status = ExportRecord.Status.DONE
    record.finished_at = timezone.now()
    record.save(update_fields=["rows", "rows_written", "status", "finished_at"])
    return record


@transaction.atomic
def export_cut(*, record: ExportRecord, rows_sent: int) -> ExportRecord:
    """The export stopped before its end: incomplete, with the rows sent so far (``rows``
    stays empty, as it is kept for whole files only)."""
    record.rows_written = rows_sent
    record.status = ExportRecord.Status.INCOMPLETE
    record.finished_at = timezone.now()
    record.save(update_fields=["rows_written", "status", "finished_at"])
    return record


@transaction.atomic
def council_member_join(
    *,
    actor: User,
    council: Council,
    resident: Resident,
    joined_on: dt.date,
    **fields: object,
) -> CouncilMember:
    if resident.community_id != council.community_id:
        raise ActionError(_("Only residents of this community can join its council."))
    if not resident.is_active:
        raise ActionError(_("An inactive resident cannot join the council."))
    if CouncilMember.objects.filter(
        council=council, resident=resident, left_on__isnull=True
    ).exists():
        raise ActionError(_("%(name)s already serves on this council.") % {"name": resident.name})
    member = CouncilMember(
        council=council, resident=resident, joined_on=joined_on, **_only(fields, MEMBER_FIELDS)
    )
    _clear_unused_coverage(member)
    member.full_clean()
    member.save()
    _notify_leaders(council, exclude=member, kind="member_joined", name=resident.name)
    return member


@transaction.atomic
def council_member_update(
    *, actor: User, member: CouncilMember, expected_version: int | None = None, **fields: object
) -> CouncilMember:
    """Change a serving member's role; a form drawn from an older version is refused."""
    member = versions.lock(CouncilMember, member.pk, expected_version)
    if not member.is_current:
        raise ActionError(_("A former member's term can no longer be changed."))
    changes = _only(fields, MEMBER_FIELDS)
    for name, value in changes.items():
        setattr(member, name, value)
    _clear_unused_coverage(member)
    member.full_clean()
    versions.bump(member)
    return member


@transaction.atomic
def council_member_leave(
    *, actor: User, member: CouncilMember, left_on: dt.date, reason: str = ""
) -> CouncilMember:
    """Close a member's term. The term stays in the council's history."""
    member = CouncilMember.objects.select_for_update().get(pk=member.pk)
    if not member.is_current:
        raise ActionError(_("This member has already left the council."))
    if left_on < member.joined_on:
        raise ActionError(_("The leaving date cannot be before the joining date."))
    member.left_on = left_on
    member.leave_reason = reason
    member.save(update_fields=["left_on", "leave_reason", "updated"])
    return member


def _only(fields: dict, allowed: tuple[str, ...]) -> dict:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    return dict(fields)


def _clear_unused_coverage(member: CouncilMember) -> None:
    if not member.is_lane_leader:
        member.covers_lane = ""
    if not member.is_building_leader:
        member.covers_building = ""


def _notify_leaders(council: Council, *, exclude: CouncilMember, kind: str, name: str) -> None:
    leaders = User.objects.filter(
        roles__council_member__council=council,
        roles__council_member__left_on__isnull=True,
        roles__council_member__role__in=[CouncilMember.Role.LEADER, CouncilMember.Role.DEPUTY],
    ).exclude(roles__council_member=exclude)
    for leader in leaders.distinct():
        notifications.notify(
            leader,
            kind,
            {"name": name, "council": council.name, "community_id": council.community_id},
            key=f"{kind}:{exclude.pk}:{leader.pk}",
        )


@transaction.atomic
def community_transparency_set(*, actor: User, community: Community, public: bool) -> Community:
    """Publish or withdraw the community's transparency page (the poster's second code).

    The same people who print the poster decide what it leads to: staff of the community
    and admins of its street. Anyone else is refused, whatever the view checked before.
    """
    if not permissions.may_publish_transparency(actor, community):
        raise PermissionDenied
    locked = Community.objects.select_for_update().get(pk=community.pk)
    if locked.transparency_public != public:
        locked.transparency_public = public
        locked.save(update_fields=["transparency_public"])
    community.transparency_public = public
    return locked


COUNCIL_SETTINGS = ("quorum_ratio", "sign_in_opens_hours", "named_votes", "review_after_days")


@transaction.atomic
def council_settings_save(*, actor: User, council: Council, **fields: object) -> Council:
    """Change how the council works (only the settings named in COUNCIL_SETTINGS); its
    community's staff and street admins set it."""
    permissions.require_change_council_settings(actor, council.community)
    council = Council.objects.select_for_update().get(pk=council.pk)
    changes = _only(fields, COUNCIL_SETTINGS)
    for name, value in changes.items():
        setattr(council, name, value)
    council.full_clean(exclude=["community"])
    council.save(update_fields=list(changes))
    return council


@transaction.atomic
def user_set_elder_mode(*, actor: User, on: bool) -> User:
    """Show this account's pages in elder mode (长辈版) or in the standard mode."""
    if actor.elder_mode != on:
        actor.elder_mode = on
        actor.save(update_fields=["elder_mode"])
    return actor
