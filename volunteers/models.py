"""Volunteer teams (志愿服务队), their activities, and the service-hours ledger.

A volunteer is a resident (``members.Resident``); the ledger is append-only: credits
from confirmed attendances, debits from exchanges, corrections as new rows. The balance
row beside it is changed in the same transaction under a row lock, and the database
refuses a negative balance.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import Community, Resident


class Volunteer(models.Model):
    """A resident who serves in one or more teams; ``user`` is their own account, if any.

    A council member's account reaches their volunteer page through their council term
    too (``queries.volunteer_of``), so ``user`` is only needed for volunteers who do not
    sit on the council.
    """

    resident = models.OneToOneField(
        Resident, on_delete=models.PROTECT, related_name="volunteer", verbose_name=_("resident")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteer",
        verbose_name=_("account"),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.resident.name


class Team(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="volunteer_teams",
        verbose_name=_("community"),
    )  # fmt: skip
    name = models.CharField(pgettext_lazy("team", "name"), max_length=50)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    leader = models.ForeignKey(
        Volunteer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_teams",
        verbose_name=_("team leader"),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("volunteer team")
        verbose_name_plural = _("volunteer teams")
        ordering = ["community_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="team_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One spell of a volunteer in a team; leaving closes it, joining again opens another."""

    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("team")
    )
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="memberships",
        verbose_name=_("volunteer"),
    )  # fmt: skip
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)
    # Thanked by name on the community's public transparency page only with consent, and
    # under the name the volunteer chose (e.g. 王阿姨, or the surname only).
    thanks_consent = models.BooleanField(_("agreed to be thanked by name in public"), default=False)
    thanks_name = models.CharField(_("name shown in public"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        ordering = ["team_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "volunteer"],
                condition=Q(left_on__isnull=True),
                name="membership_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.team}"


class Activity(models.Model):
    """One activity of a team: when, where, how many people it needs."""

    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="activities", verbose_name=_("team")
    )
    title = models.CharField(_("title"), max_length=100)
    place = models.CharField(_("place"), max_length=100)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    headcount = models.PositiveSmallIntegerField(_("people needed"), default=1)
    # The activities planned together as one repeating series share this key.
    series = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    # The matter the council decided residents solve themselves, worked on by this activity.
    issue = models.ForeignKey(
        "issues.Issue",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteer_activities",
        verbose_name=_("matter"),
    )
    # Closed by the leader once the hours are confirmed; the work goes on the matter then.
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("volunteer activity")
        verbose_name_plural = _("volunteer activities")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["team", "starts_at"], name="activity_team_start"),
            # The coming activities: those not over yet, found without reading the past.
            models.Index(fields=["team", "ends_at"], name="activity_team_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="activity_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(headcount__gte=1), name="activity_headcount"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class ActivityPhoto(models.Model):
    """A photo of an activity's work, cleaned like a matter's photos (``issues.photos``)."""

    activity = models.ForeignKey(
        Activity, on_delete=models.PROTECT, related_name="photos", verbose_name=_("activity")
    )
    image = models.ImageField(
        upload_to="volunteers/%Y/%m/", width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("activity photo")
        verbose_name_plural = _("activity photos")
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.activity_id}: {self.image.name}"


class Attendance(models.Model):
    """A volunteer signed up for an activity; then signed in, signed out, and confirmed.

    The credited minutes are fixed when the leader confirms, and the ledger credit is
    written in the same transaction (once: the ledger holds one credit per attendance).
    """

    activity = models.ForeignKey(
        Activity, on_delete=models.PROTECT, related_name="attendances",
        verbose_name=_("activity"),
    )  # fmt: skip
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="attendances",
        verbose_name=_("volunteer"),
    )  # fmt: skip
    signed_up_at = models.DateTimeField(auto_now_add=True)
    signed_in_at = models.DateTimeField(_("signed in at"), null=True, blank=True)
    signed_out_at = models.DateTimeField(_("signed out at"), null=True, blank=True)
    credited_minutes = models.PositiveIntegerField(_("minutes credited"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        ordering = ["activity_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "volunteer"], name="attendance_once_per_activity"
            ),
            models.CheckConstraint(
                condition=Q(signed_out_at__isnull=True)
                | Q(signed_in_at__isnull=False, signed_out_at__gte=F("signed_in_at")),
                name="attendance_out_after_in",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True)
                | Q(signed_out_at__isnull=False, credited_minutes__isnull=False),
                name="attendance_confirmed_after_out",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.activity}"


class ExchangeRule(models.Model):
    """What a community gives for service time: e.g. 40 minutes → 1.5 hours of class."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="exchange_rules",
        verbose_name=_("community"),
    )  # fmt: skip
    minutes = models.PositiveIntegerField(_("minutes of service"))
    gives = models.CharField(_("what it buys"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exchange rule")
        verbose_name_plural = _("exchange rules")
        ordering = ["community_id", "minutes", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1), name="exchangerule_minutes"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} → {self.gives}"


class Exchange(models.Model):
    """Service time spent on what a rule gives, approved by a member of staff."""

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="exchanges", verbose_name=_("volunteer")
    )
    rule = models.ForeignKey(
        ExchangeRule, on_delete=models.PROTECT, related_name="exchanges", verbose_name=_("rule")
    )
    quantity = models.PositiveSmallIntegerField(_("how many"), default=1)
    minutes = models.PositiveIntegerField(_("minutes"))
    gives = models.CharField(_("what it buys"), max_length=100)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("approved by"),
    )  # fmt: skip
    note = models.CharField(_("note"), max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1), name="exchange_minutes"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.gives}"


class LedgerQuerySet(models.QuerySet):
    """The ledger's rows are appended, never changed or removed in bulk either."""

    def update(self, **kwargs):
        raise ValueError("Ledger entries are never changed: record a correction instead.")

    def delete(self):
        raise ValueError("Ledger entries are never deleted: record a correction instead.")


class HoursEntry(models.Model):
    """One row of a volunteer's service-hours ledger; never changed once written.

    ``minutes`` is signed: a credit adds, a debit takes away, a correction does either.
    """

    class Kind(models.TextChoices):
        CREDIT = "credit", _("service credited")
        DEBIT = "debit", _("exchanged")
        CORRECTION = "correction", _("correction")

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("volunteer")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    minutes = models.IntegerField(_("minutes"))
    attendance = models.ForeignKey(
        Attendance, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exchange = models.ForeignKey(
        Exchange, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("recorded by"),
    )  # fmt: skip
    note = models.CharField(_("note"), max_length=200, blank=True)
    # The day the service happened (a credit: its activity's day); an exchange's or a
    # correction's day otherwise. Statements and certificates count a year by this date.
    served_on = models.DateField(_("date of service"))
    created = models.DateTimeField(auto_now_add=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("service-hours entry")
        verbose_name_plural = _("service-hours entries")
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["volunteer", "-created", "-id"], name="ledger_latest"),
            models.Index(fields=["volunteer", "served_on", "id"], name="ledger_served"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind="credit",
                    minutes__gt=0,
                    attendance__isnull=False,
                    exchange__isnull=True,
                )
                | Q(kind="debit", minutes__lt=0, attendance__isnull=True, exchange__isnull=False)
                | (
                    Q(kind="correction", attendance__isnull=True, exchange__isnull=True)
                    & ~Q(minutes=0)
                ),
                name="hoursentry_kind_matches_source",
            ),
            # One attendance is credited once, one exchange debited once.
            models.UniqueConstraint(
                fields=["attendance"], condition=Q(kind="credit"), name="hoursentry_one_credit"
            ),
            models.UniqueConstraint(
                fields=["exchange"], condition=Q(kind="debit"), name="hoursentry_one_debit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.minutes:+d}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Ledger entries are never changed: record a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are never deleted: record a correction instead.")


class Balance(models.Model):
    """A volunteer's minutes in hand: the sum of their ledger, kept under a row lock."""

    volunteer = models.OneToOneField(
        Volunteer, on_delete=models.PROTECT, primary_key=True, related_name="balance"
    )
    minutes = models.IntegerField(_("minutes in hand"), default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("service-hours balance")
        verbose_name_plural = _("service-hours balances")
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=0), name="balance_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer}: {self.minutes}"


class JoinRequest(models.Model):
    """A resident's request, from the community's public page, to join a team.

    Sent without an account: the name and phone as typed, kept with the resident's consent.
    Staff or the team's leader accept it (the resident, found by phone in the community or
    recorded anew, joins the team) or decline it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for an answer")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")

    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="join_requests", verbose_name=_("team")
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)
    phone_consent = models.BooleanField(_("agreed to their phone number being kept"))
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("resident"),
    )  # fmt: skip
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("request to join a team")
        verbose_name_plural = _("requests to join a team")
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["team", "status"], name="joinrequest_team_status")]
        constraints = [
            models.CheckConstraint(condition=Q(phone_consent=True), name="joinrequest_consent"),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | Q(status__in=["accepted", "declined"], decided_at__isnull=False),
                name="joinrequest_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.team}"
