"""Activities: planned by the team, signed up for, signed in and out, confirmed.

Signing in and out is done by the volunteer with the activity's QR code, or by the leader
on a phone. Confirming fixes the minutes — from sign-in to sign-out, at most the
activity's length — and writes the ledger's credit in the same transaction, once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common import files
from deliberation import schedules
from deliberation.models import Schedule
from issues import photos
from issues.models import Issue
from members.models import User
from volunteers.actions import ledger, matters
from volunteers.models import Activity, ActivityPhoto, Attendance, Membership, Team, Volunteer
from volunteers.refusals import VolunteerRefusal

LONGEST = dt.timedelta(days=1)
LONGEST_SERIES = dt.timedelta(days=183)
# Sign-in opens this long before the start; sign-out closes this long after the end.
SIGN_IN_OPENS = dt.timedelta(hours=1)
SIGN_OUT_CLOSES = dt.timedelta(hours=12)


def check_times(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise VolunteerRefusal(_("An activity must end after it starts."))
    if ends_at - starts_at > LONGEST:
        raise VolunteerRefusal(
            _("An activity lasts at most one day; plan a longer one as several activities.")
        )


class Repeats:
    ONCE = ""
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def series_starts(starts_at: dt.datetime, repeats: str, until: dt.date | None) -> list[dt.datetime]:
    """When a series' activities start: the same rules as the councils' meeting schedules
    (``deliberation.schedules``): weekly on the first one's weekday, or monthly on its
    day of the month (a day a month lacks falls on the month's last day)."""
    if repeats == Repeats.ONCE:
        return [starts_at]
    local = timezone.localtime(starts_at)
    first = local.date()
    if until is None or until < first:
        raise VolunteerRefusal(_("Say until when the activity repeats."))
    if until > first + LONGEST_SERIES:
        raise VolunteerRefusal(_("A repeating activity is planned at most half a year ahead."))
    rule = Schedule(
        kind=Schedule.Kind.WEEKLY if repeats == Repeats.WEEKLY else Schedule.Kind.MONTHLY,
        weekday=first.weekday(),
        month_days=[first.day],
        start_time=local.time().replace(tzinfo=None),
        on_day_off=Schedule.DayOff.KEEP,
    )
    return schedules.occurrences(rule, first, until)


@transaction.atomic
def activity_create(
    *,
    team: Team,
    title: str,
    place: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    headcount: int,
    actor: User,
    repeats: str = Repeats.ONCE,
    until: dt.date | None = None,
    issue: Issue | None = None,
) -> Activity:
    """Plan an activity, or a series of them (the first is returned).

    With ``issue``, the activity works on a matter the council decided residents solve
    themselves (one activity, not a series); closing it reports the work on the matter.
    """
    check_times(starts_at, ends_at)
    if headcount < 1:
        raise VolunteerRefusal(_("An activity needs at least one person."))
    if issue is not None:
        matters.check_for_residents(issue, team)
        repeats = Repeats.ONCE
    length = ends_at - starts_at
    series = uuid.uuid4() if repeats != Repeats.ONCE else None
    planned = Activity.objects.bulk_create(
        Activity(
            team=team,
            title=title.strip(),
            place=place.strip(),
            starts_at=start,
            ends_at=start + length,
            headcount=headcount,
            series=series,
            created_by=actor,
            issue=issue,
        )
        for start in series_starts(starts_at, repeats, until)
    )
    return planned[0]


def _is_member(volunteer: Volunteer, team: Team) -> bool:
    return Membership.objects.filter(team=team, volunteer=volunteer, left_on__isnull=True).exists()


@transaction.atomic
def activity_sign_up(*, activity: Activity, volunteer: Volunteer, actor: User) -> Attendance:
    """A member of the team puts their name down (again: nothing changes)."""
    activity = Activity.objects.select_for_update().get(pk=activity.pk)  # one sign-up at a time
    existing = Attendance.objects.filter(activity=activity, volunteer=volunteer).first()
    if existing is not None:
        return existing
    _check_open(activity)
    if not _is_member(volunteer, activity.team):
        raise VolunteerRefusal(_("Only the team's members can sign up for its activities."))
    if activity.ends_at <= timezone.now():
        raise VolunteerRefusal(_("This activity is over."))
    if activity.attendances.count() >= activity.headcount:
        raise VolunteerRefusal(_("This activity has all the people it needs."))
    return Attendance.objects.create(activity=activity, volunteer=volunteer)


def _check_open(activity: Activity) -> None:
    if activity.closed_at is not None:
        raise VolunteerRefusal(_("This activity is closed: its hours are confirmed."))


def _locked(attendance: Attendance) -> Attendance:
    return (
        Attendance.objects.select_for_update(of=("self",))
        .select_related("activity", "volunteer__resident")
        .get(pk=attendance.pk)
    )


@transaction.atomic
def attendance_sign_in(
    *, attendance: Attendance, actor: User, at: dt.datetime | None = None
) -> Attendance:
    attendance = _locked(attendance)
    at = at or timezone.now()
    activity = attendance.activity
    _check_open(activity)
    if attendance.signed_in_at is not None:
        raise VolunteerRefusal(_("Already signed in."))
    if at < activity.starts_at - SIGN_IN_OPENS:
        raise VolunteerRefusal(_("Sign-in opens an hour before the activity starts."))
    if at > activity.ends_at:
        raise VolunteerRefusal(_("This activity is over: sign-in is closed."))
    attendance.signed_in_at = at
    attendance.save(update_fields=["signed_in_at"])
    return attendance


@transaction.atomic
def attendance_sign_out(
    *, attendance: Attendance, actor: User, at: dt.datetime | None = None
) -> Attendance:
    attendance = _locked(attendance)
    at = at or timezone.now()
    _check_open(attendance.activity)
    if attendance.signed_in_at is None:
        raise VolunteerRefusal(_("Sign in first: there is no sign-in to sign out from."))
    if attendance.signed_out_at is not None:
        raise VolunteerRefusal(_("Already signed out."))
    if at < attendance.signed_in_at:
        raise VolunteerRefusal(_("Sign-out cannot be before sign-in."))
    if at > attendance.activity.ends_at + SIGN_OUT_CLOSES:
        raise VolunteerRefusal(
            _("Sign-out closed 12 hours after the activity ended; ask the team leader.")
        )
    attendance.signed_out_at = at
    attendance.save(update_fields=["signed_out_at"])
    return attendance


def minutes_served(attendance: Attendance) -> int:
    """From sign-in to sign-out in whole minutes, at most the activity's length."""
    served = int((attendance.signed_out_at - attendance.signed_in_at).total_seconds() // 60)
    return max(0, min(served, attendance.activity.length_minutes))


@transaction.atomic
def attendance_confirm(*, attendance: Attendance, actor: User) -> Attendance:
    """The leader confirms the time served: credited once, however often it is pressed."""
    attendance = _locked(attendance)
    if attendance.confirmed_at is not None:
        return attendance  # credited already; the ledger's unique credit says so too
    if attendance.signed_out_at is None:
        raise VolunteerRefusal(_("Confirm after the volunteer has signed out."))
    attendance.credited_minutes = minutes_served(attendance)
    attendance.confirmed_by = actor
    attendance.confirmed_at = timezone.now()
    attendance.save(update_fields=["credited_minutes", "confirmed_by", "confirmed_at"])
    if attendance.credited_minutes > 0:
        ledger.credit_attendance(attendance=attendance, actor=actor)
    return attendance


@transaction.atomic
def attend_by_code(*, activity: Activity, volunteer: Volunteer, actor: User) -> Attendance:
    """The volunteer scanned the activity's code: sign in (signing up first if there is
    room), or sign out if already in."""
    attendance = Attendance.objects.filter(activity=activity, volunteer=volunteer).first()
    if attendance is None:
        attendance = activity_sign_up(activity=activity, volunteer=volunteer, actor=actor)
    if attendance.signed_in_at is None:
        return attendance_sign_in(attendance=attendance, actor=actor)
    return attendance_sign_out(attendance=attendance, actor=actor)


@transaction.atomic
def activity_close(*, activity: Activity, actor: User) -> Activity:
    """The leader confirms everyone's hours and closes the activity; an activity worked on
    a matter reports the work on the matter's timeline. Closing again changes nothing."""
    activity = (
        Activity.objects.select_for_update(of=("self",)).select_related("team").get(pk=activity.pk)
    )
    if activity.closed_at is not None:
        return activity
    if timezone.now() < activity.starts_at:
        raise VolunteerRefusal(_("The activity has not started yet: close it after the work."))
    attendances = list(
        Attendance.objects.filter(activity=activity)
        .select_related("volunteer__resident")
        .order_by("id")
    )
    still_in = [
        a.volunteer.resident.name for a in attendances if a.signed_in_at and not a.signed_out_at
    ]
    if still_in:
        raise VolunteerRefusal(
            _("Still signed in: %(names)s. Sign them out first, then close the activity.")
            % {"names": "、".join(still_in)}
        )
    for attendance in attendances:
        if attendance.signed_out_at is not None and attendance.confirmed_at is None:
            attendance_confirm(attendance=attendance, actor=actor)
    activity.closed_at = timezone.now()
    activity.closed_by = actor
    activity.save(update_fields=["closed_at", "closed_by"])
    if activity.issue_id is not None:
        matters.work_report(activity=activity, actor=actor)
    return activity


MAX_ACTIVITY_PHOTOS = 12


@transaction.atomic
def activity_photos_add(
    *, activity: Activity, actor: User, uploads: Sequence[UploadedFile]
) -> list[ActivityPhoto]:
    """Photos of the work, cleaned like a matter's; all checked before any is kept."""
    activity = Activity.objects.select_for_update(of=("self",)).get(pk=activity.pk)
    if not uploads:
        raise VolunteerRefusal(_("Choose at least one photo."))
    if activity.closed_at is not None and activity.issue_id is not None:
        raise VolunteerRefusal(
            _("This activity is closed and its work is on the matter: no more photos.")
        )
    if activity.photos.count() + len(uploads) > MAX_ACTIVITY_PHOTOS:
        raise VolunteerRefusal(
            _("An activity keeps at most %(n)s photos.") % {"n": MAX_ACTIVITY_PHOTOS}
        )
    try:
        cleaned = [photos.process(upload) for upload in uploads]
    except ValidationError as error:
        raise VolunteerRefusal(" ".join(error.messages)) from error
    stored = []
    for content in cleaned:
        photo = ActivityPhoto(activity=activity, uploaded_by=actor, size=content.size)
        try:
            files.save(photo.image, content.name, content)
        except files.StoreUnavailable:
            # The rows roll back with the action; the files already written go too.
            files.discard([kept.image.name for kept in stored], photo.image.storage)
            raise VolunteerRefusal(
                _("The photo could not be stored just now. Please try the photo again in a moment.")
            ) from None
        photo.save()
        stored.append(photo)
    return stored
