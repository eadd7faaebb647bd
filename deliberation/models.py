import datetime as dt
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def default_month_days() -> list[int]:
    return [8, 18, 28]


class Schedule(models.Model):
    """When a council meets regularly; ``deliberation.schedules`` turns it into dates.

    - monthly: on each day in ``month_days`` (8th, 18th and 28th by default); a day
      the month does not have (31 in April, 30 in February) falls on its last day;
    - weekly: every ``weekday`` (0 = Monday … 6 = Sunday);
    - quarterly: on the first working day (Monday–Friday) of the window from the
      1st to the 10th of January, April, July and October.

    ``on_day_off`` says what happens to a meeting that falls on a day off (a weekend or a
    statutory holiday, ``common.holidays``): it stays, or moves to the next or the previous
    working day. A make-up working day (调休) is a working day.
    """

    class DayOff(models.TextChoices):
        KEEP = "keep", _("keep the date")
        NEXT = "next", _("move to the next working day")
        PREVIOUS = "previous", _("move to the previous working day")

    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("monthly on fixed days")
        WEEKLY = "weekly", _("weekly")
        QUARTERLY = "quarterly", _("quarterly (first ten days of Jan, Apr, Jul, Oct)")

    council = models.ForeignKey(
        "members.Council",
        on_delete=models.CASCADE,
        related_name="schedules",
        verbose_name=_("council"),
    )
    kind = models.CharField(_("repeats"), max_length=10, choices=Kind, default=Kind.MONTHLY)
    month_days = models.JSONField(_("days of the month"), default=default_month_days, blank=True)
    weekday = models.PositiveSmallIntegerField(_("weekday"), null=True, blank=True)
    start_time = models.TimeField(_("start time"), default=dt.time(15, 0))
    place = models.CharField(_("place"), max_length=200, blank=True)
    notice_days = models.PositiveSmallIntegerField(
        _("notice (days before)"),
        default=3,
        validators=[MaxValueValidator(30)],
    )
    on_day_off = models.CharField(
        _("on a day off"), max_length=10, choices=DayOff, default=DayOff.NEXT
    )
    is_active = models.BooleanField(_("in use"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("meeting schedule")
        verbose_name_plural = _("meeting schedules")
        ordering = ["council_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["monthly", "weekly", "quarterly"]),
                name="schedule_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(weekday__isnull=True) | Q(weekday__gte=0, weekday__lte=6),
                name="schedule_weekday_range",
            ),
            models.CheckConstraint(
                condition=~Q(kind="weekly") | Q(weekday__isnull=False),
                name="schedule_weekly_has_weekday",
            ),
            models.CheckConstraint(
                condition=Q(notice_days__gte=0, notice_days__lte=30),
                name="schedule_notice_days_range",
            ),
            models.CheckConstraint(
                condition=Q(on_day_off__in=["keep", "next", "previous"]),
                name="schedule_on_day_off_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.council} · {self.get_kind_display()}"


class Meeting(models.Model):
    """One meeting of a council, regular (from a schedule) or urgent.

    Unique per council and start time: materialising a schedule twice, or from
    two beat processes at once, creates each meeting once.
    """

    class Kind(models.TextChoices):
        REGULAR = "regular", _("regular meeting")
        URGENT = "urgent", _("urgent meeting")

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        CANCELLED = "cancelled", _("cancelled")
        HELD = "held", _("held")

    council = models.ForeignKey(
        "members.Council",
        on_delete=models.PROTECT,
        related_name="meetings",
        verbose_name=_("council"),
    )
    schedule = models.ForeignKey(
        Schedule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="meetings",
        verbose_name=_("meeting schedule"),
    )
    starts_at = models.DateTimeField(_("starts at"))
    # The slot the schedule gave, when the meeting takes place on another day: moved off a
    # day off by the schedule (``move_reason`` empty) or by staff (their reason).
    planned_at = models.DateTimeField(_("planned for"), null=True, blank=True)
    move_reason = models.TextField(_("reason for moving"), blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    kind = models.CharField(_("type"), max_length=10, choices=Kind, default=Kind.REGULAR)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.SCHEDULED)
    # When members are to be told (starts_at minus the schedule's notice days):
    # a row the periodic sender acts on, never a delay parked in the broker.
    notice_due_at = models.DateTimeField(_("notice due at"))
    notice_sent_at = models.DateTimeField(_("notice sent at"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    # Set when staff close the meeting (state "held") or call it off (state "cancelled").
    ended_at = models.DateTimeField(_("closed or cancelled at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed or cancelled by"),
    )
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    # A joint meeting (联席会议): other councils meet with the host council (``council``),
    # on one agenda. Set by ``actions.joint.joined_councils_set``, which logs each change.
    joined_councils = models.ManyToManyField(
        "members.Council",
        through="JointCouncil",
        related_name="joint_meetings",
        blank=True,
        verbose_name=_("joined councils"),
    )
    # The street that convened the meeting from its pages, when it did.
    convened_by_street = models.ForeignKey(
        "members.Street",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("convened by the street"),
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["council", "starts_at"], name="meeting_unique_start"),
            models.CheckConstraint(
                condition=Q(kind__in=["regular", "urgent"]), name="meeting_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["scheduled", "cancelled", "held"]),
                name="meeting_state_known",
            ),
            models.CheckConstraint(
                condition=Q(notice_due_at__lte=F("starts_at")), name="meeting_notice_before_start"
            ),
        ]
        indexes = [
            models.Index(
                fields=["council", "starts_at", "id"],
                condition=Q(state="scheduled"),
                name="meeting_upcoming",
            ),
            models.Index(
                fields=["notice_due_at"],
                condition=Q(state="scheduled", notice_sent_at__isnull=True),
                name="meeting_notice_due",
            ),
            models.Index(
                fields=["starts_at"],
                condition=Q(state="scheduled", reminder_sent_at__isnull=True),
                name="meeting_reminder_due",
            ),
            # The slots held by moved meetings, looked up when materialising schedules.
            models.Index(
                fields=["council", "planned_at"],
                condition=Q(planned_at__isnull=False),
                name="meeting_planned_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.council} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def kind_label(self) -> str:
        """What pages call the meeting. A joint meeting the street convenes is kept out of
        the agenda's automatic top-up as an urgent meeting is, but it is not urgent to the
        people invited: it is a joint meeting."""
        if self.convened_by_street_id:
            return gettext("joint meeting")
        return self.get_kind_display()


class JointCouncil(models.Model):
    """A council that meets with a meeting's host council (联席会议): its members are told,
    sign in and count towards the quorum; its community's matters may go on the agenda."""

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="joint_councils", verbose_name=_("meeting")
    )
    council = models.ForeignKey(
        "members.Council",
        on_delete=models.PROTECT,
        related_name="joint_council_rows",
        verbose_name=_("council"),
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(_("joined at"))

    class Meta:
        verbose_name = _("joined council")
        verbose_name_plural = _("joined councils")
        ordering = ["meeting_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "council"], name="joint_council_once"),
        ]
        indexes = [models.Index(fields=["council", "meeting"], name="joint_council_by_council")]

    def __str__(self) -> str:
        return f"{self.meeting_id} + {self.council_id}"


class JointCouncilChange(models.Model):
    """The log of who made a meeting joint with a council, or took a council off, and when."""

    class Change(models.TextChoices):
        JOINED = "joined", _("joined")
        LEFT = "left", _("taken off")

    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.CASCADE,
        related_name="joint_council_changes",
        verbose_name=_("meeting"),
    )
    council = models.ForeignKey(
        "members.Council", on_delete=models.PROTECT, related_name="+", verbose_name=_("council")
    )
    change = models.CharField(_("change"), max_length=10, choices=Change)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("joined council change")
        verbose_name_plural = _("joined council changes")
        ordering = ["meeting_id", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(change__in=["joined", "left"]), name="joint_council_change_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id} {self.change} {self.council_id}"


class AgendaItem(models.Model):
    """One point on a meeting's agenda: an issue, a follow-up review, or a free topic."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("issue")
        REVIEW = "review", _("follow-up review")
        TOPIC = "topic", _("topic")

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="agenda_items", verbose_name=_("meeting")
    )
    issue = models.ForeignKey(
        "issues.Issue",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agenda_items",
        verbose_name=_("issue"),
    )
    topic = models.CharField(_("topic"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("type"), max_length=10, choices=Kind, default=Kind.ISSUE)
    # Taken off the agenda by hand: the row stays, so the automatic top-up does
    # not put the issue back on this meeting, and the change stays on record.
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("removed by"),
    )
    # Set with removed_at when the item was deferred to a later meeting.
    moved_to = models.ForeignKey(
        "Meeting",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deferred to"),
    )
    # Joined after the meeting's notice went out and before it began (临时增加): shown as
    # such, and the members are told of it once, by the periodic sweep that sets
    # late_notified_at (``actions.notices.late_items_announce``).
    late = models.BooleanField(_("added late"), default=False)
    late_notified_at = models.DateTimeField(_("members told at"), null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["meeting_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "issue"],
                condition=Q(issue__isnull=False),
                name="agendaitem_issue_once",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["issue", "review"], issue__isnull=False)
                | (Q(kind="topic", issue__isnull=True) & ~Q(topic="")),
                name="agendaitem_kind_matches",
            ),
        ]
        indexes = [
            models.Index(
                fields=["meeting"],
                condition=Q(late=True, late_notified_at__isnull=True, removed_at__isnull=True),
                name="agendaitem_late_untold",
            ),
        ]

    def __str__(self) -> str:
        return self.topic or f"#{self.issue_id}"

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class Attendance(models.Model):
    """A council member signed in at a meeting, on their phone or ticked by staff."""

    class How(models.TextChoices):
        SELF = "self", _("signed in themselves")
        STAFF = "staff", _("signed in by staff")

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="attendances", verbose_name=_("meeting")
    )
    member = models.ForeignKey(
        "members.CouncilMember",
        on_delete=models.PROTECT,
        related_name="attendances",
        verbose_name=_("council member"),
    )
    signed_in_at = models.DateTimeField(_("signed in at"))
    how = models.CharField(_("signed in"), max_length=10, choices=How)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        ordering = ["meeting_id", "signed_in_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once"),
            models.CheckConstraint(condition=Q(how__in=["self", "staff"]), name="attendance_how"),
        ]

    def __str__(self) -> str:
        return f"{self.meeting} · {self.member_id}"


class MeetingGuest(models.Model):
    """An outside party invited to a meeting (联建联动): a unit based in the area, through
    its contact person, or a cadre sent down (下沉干部), an account that sees only the
    meetings it is invited to and the matters on their agendas.

    A guest attends without a vote (列席) unless staff give them one before the meeting;
    only voting guests' votes count, and guests never count towards the quorum.
    """

    class How(models.TextChoices):
        SELF = "self", _("signed in themselves")
        STAFF = "staff", _("signed in by staff")

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="guests", verbose_name=_("meeting")
    )
    unit = models.ForeignKey(
        "members.OutsideUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meeting_guests",
        verbose_name=_("unit based in the area"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meeting_guests",
        verbose_name=_("cadre sent down"),
    )
    may_vote = models.BooleanField(_("has a vote"), default=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invited_at = models.DateTimeField(_("invited at"))
    signed_in_at = models.DateTimeField(_("signed in at"), null=True, blank=True)
    how = models.CharField(_("signed in"), max_length=10, choices=How, blank=True)
    signed_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("meeting guest")
        verbose_name_plural = _("meeting guests")
        ordering = ["meeting_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=False, user__isnull=True)
                | Q(unit__isnull=True, user__isnull=False),
                name="meetingguest_unit_xor_user",
            ),
            models.UniqueConstraint(
                fields=["meeting", "unit"], condition=Q(unit__isnull=False), name="guest_unit_once"
            ),
            models.UniqueConstraint(
                fields=["meeting", "user"], condition=Q(user__isnull=False), name="guest_user_once"
            ),
            models.CheckConstraint(
                condition=Q(signed_in_at__isnull=True, how="")
                | Q(signed_in_at__isnull=False, how__in=["self", "staff"]),
                name="meetingguest_sign_in_whole",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return str(self.unit) if self.unit_id else str(self.user)


class Decision(models.Model):
    """What the council decided on one agenda item."""

    class Outcome(models.TextChoices):
        SOLVE_BY_COUNCIL = "solve_by_council", _("the council solves it")
        REFER_TO_COMMUNITY = "refer_to_community", _("refer to the community")
        ESCALATE_TO_STREET = "escalate_to_street", _("escalate to the street office")
        NOT_ACTIONABLE = "not_actionable", _("not actionable")
        DEFER = "defer", _("defer to the next meeting")
        # The two outcomes of a follow-up review (回头议) item, and only of one.
        REVIEW_EFFECTIVE = "review_effective", _("reviewed: the fix worked")
        REVIEW_NOT_EFFECTIVE = "review_not_effective", _("reviewed: the fix did not work")

    item = models.OneToOneField(
        AgendaItem, on_delete=models.CASCADE, related_name="decision", verbose_name=_("agenda item")
    )
    outcome = models.CharField(_("decision"), max_length=20, choices=Outcome)
    notes = models.TextField(_("notes"), blank=True)
    explanation = models.TextField(_("explanation for the reporter"), blank=True)
    needs_vote = models.BooleanField(_("put to a vote"), default=False)
    # The tally of a vote (赞成 / 反对 / 弃权); all three empty when it was not put to a vote.
    votes_for = models.PositiveSmallIntegerField(_("votes for"), null=True, blank=True)
    votes_against = models.PositiveSmallIntegerField(_("votes against"), null=True, blank=True)
    votes_abstain = models.PositiveSmallIntegerField(_("abstentions"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["decided_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    outcome__in=[
                        "solve_by_council",
                        "refer_to_community",
                        "escalate_to_street",
                        "not_actionable",
                        "defer",
                        "review_effective",
                        "review_not_effective",
                    ]
                ),
                name="decision_outcome_known",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="not_actionable") | ~Q(explanation=""),
                name="decision_not_actionable_explained",
            ),
            models.CheckConstraint(
                condition=Q(votes_for__isnull=True, votes_against__isnull=True)
                & Q(votes_abstain__isnull=True)
                | Q(votes_for__isnull=False, votes_against__isnull=False)
                & Q(votes_abstain__isnull=False),
                name="decision_tally_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} · {self.get_outcome_display()}"

    @property
    def tally(self) -> str:
        """The vote as people say it ("9 赞成 · 0 反对 · 1 弃权"), or "" without a vote."""
        if self.votes_for is None:
            return ""
        return tally_text(self.votes_for, self.votes_against or 0, self.votes_abstain or 0)


class PartyTask(models.Model):
    """Work a decision gives to an outside party at the meeting (联建联动): a unit based in the
    area or a cadre sent down, with what to do, by when, and their reply, which shows on
    the matter's timeline. A cadre replies from their account; staff record a unit's reply
    as its contact person gave it."""

    decision = models.ForeignKey(
        Decision, on_delete=models.CASCADE, related_name="party_tasks", verbose_name=_("decision")
    )
    guest = models.ForeignKey(
        MeetingGuest, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("party")
    )
    work = models.TextField(_("work"), max_length=1000)
    due_on = models.DateField(_("reply by"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(_("assigned at"))
    reply = models.TextField(_("reply"), max_length=2000, blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("work for an outside party")
        verbose_name_plural = _("work for outside parties")
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "guest"], name="party_task_once"),
            models.CheckConstraint(
                condition=Q(reply="", replied_at__isnull=True)
                | (~Q(reply="") & Q(replied_at__isnull=False)),
                name="party_task_reply_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guest_id}: {self.work[:30]}"


def tally_text(votes_for: int, against: int, abstain: int) -> str:
    return gettext("%(for)s for · %(against)s against · %(abstain)s abstaining") % {
        "for": votes_for,
        "against": against,
        "abstain": abstain,
    }


class Vote(models.Model):
    class Choice(models.TextChoices):
        FOR = "for", _("for")
        AGAINST = "against", _("against")
        ABSTAIN = "abstain", _("abstain")

    decision = models.ForeignKey(
        Decision, on_delete=models.CASCADE, related_name="votes", verbose_name=_("decision")
    )
    member = models.ForeignKey(
        "members.CouncilMember",
        on_delete=models.PROTECT,
        related_name="votes",
        verbose_name=_("council member"),
    )
    choice = models.CharField(_("vote"), max_length=10, choices=Choice)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        ordering = ["decision_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "member"], name="vote_once"),
            models.CheckConstraint(
                condition=Q(choice__in=["for", "against", "abstain"]), name="vote_choice_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.choice}"


class Minutes(models.Model):
    """One version of a meeting's minutes (会议纪要).

    A draft is edited until the council's leader approves it; an approved
    version never changes again. A correction is a new version (a draft copied
    from the latest), so every approved text stays on record.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        APPROVED = "approved", _("approved")

    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, related_name="minutes", verbose_name=_("meeting")
    )
    version = models.PositiveSmallIntegerField(_("version"))
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.DRAFT)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("minutes"))
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    # Who chaired the meeting (主持人) and who kept the record (记录人), chosen among the
    # council's members and the community's staff. The names as they were then: an
    # approved version never changes, whatever happens to the people since.
    chair = models.CharField(_("chair"), max_length=50, blank=True)
    recorder = models.CharField(_("recorder"), max_length=50, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated = models.DateTimeField(auto_now=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")
        ordering = ["meeting_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="minutes_version_once"),
            models.UniqueConstraint(
                fields=["meeting"], condition=Q(state="draft"), name="minutes_one_draft"
            ),
            models.CheckConstraint(
                condition=Q(state="draft", approved_at__isnull=True)
                | Q(state="approved", approved_at__isnull=False, approved_by__isnull=False),
                name="minutes_approval_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting} · v{self.version}"

    @property
    def is_locked(self) -> bool:
        return self.state == self.State.APPROVED


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    """A secret-token iCal address a phone calendar subscribes to, without logging in.

    Either a council's feed (shared by its community's staff) or one council
    member's personal feed of their council's meetings; never both. Resetting
    the link revokes the row and makes a new one, so an old address stops working.
    """

    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    council = models.ForeignKey(
        "members.Council",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
        verbose_name=_("council"),
    )
    member = models.ForeignKey(
        "members.CouncilMember",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
        verbose_name=_("council member"),
    )
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(council__isnull=False, member__isnull=True)
                | Q(council__isnull=True, member__isnull=False),
                name="calendarfeed_council_xor_member",
            ),
            models.UniqueConstraint(
                fields=["council"],
                condition=Q(council__isnull=False, revoked_at__isnull=True),
                name="calendarfeed_one_live_per_council",
            ),
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(member__isnull=False, revoked_at__isnull=True),
                name="calendarfeed_one_live_per_member",
            ),
        ]

    def __str__(self) -> str:
        return f"feed {self.pk} · {self.council_id or ''}{self.member_id or ''}"
