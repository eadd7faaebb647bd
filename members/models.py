from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class User(AbstractUser):
    """An account: staff, street admin, department handler or council member.

    Residents who only report problems have no account.
    """

    display_name = models.CharField(pgettext_lazy("person", "name"), max_length=50, blank=True)
    phone = models.CharField(
        _("mobile phone"),
        max_length=20,
        blank=True,
        help_text=_("Used only to send you text messages about your work."),
    )
    notify_by_sms = models.BooleanField(_("send me text messages"), default=False)
    notify_by_email = models.BooleanField(_("send me email"), default=False)
    # 长辈版: larger text, larger targets and, for council members, a home of four tiles.
    elder_mode = models.BooleanField(_("elder mode"), default=False)

    def __str__(self) -> str:
        return self.display_name or self.username


class Street(models.Model):
    name = models.CharField(pgettext_lazy("place", "name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("street office")
        verbose_name_plural = _("street offices")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    street = models.ForeignKey(
        Street, on_delete=models.PROTECT, related_name="communities", verbose_name=_("street")
    )
    name = models.CharField(pgettext_lazy("place", "name"), max_length=50)
    # Off until staff choose to publish: the page then shows the month's meetings,
    # decisions and counts to anyone holding the poster's link.
    transparency_public = models.BooleanField(_("public transparency page"), default=False)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["street_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="community_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A functional department (职能部门) the street office coordinates."""

    street = models.ForeignKey(
        Street, on_delete=models.PROTECT, related_name="departments", verbose_name=_("street")
    )
    name = models.CharField(pgettext_lazy("place", "name"), max_length=80)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="department_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Resident(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="residents", verbose_name=_("community")
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    lane = models.CharField(_("lane"), max_length=50, blank=True)
    building = models.CharField(_("building"), max_length=50, blank=True)
    room = models.CharField(_("unit and room"), max_length=30, blank=True)
    note = models.TextField(_("note"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    deactivation_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["community", "is_active", "name", "id"], name="resident_list"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True, deactivated_at__isnull=True)
                | Q(is_active=False, deactivated_at__isnull=False),
                name="resident_deactivation_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return " ".join(part for part in (self.lane, self.building, self.room) if part)


class Council(models.Model):
    """A community's deliberation council (居民议事会); one per community."""

    community = models.OneToOneField(
        "members.Community",
        on_delete=models.PROTECT,
        related_name="council",
        verbose_name=_("community"),
    )
    name = models.CharField(pgettext_lazy("place", "name"), max_length=80)
    review_after_days = models.PositiveSmallIntegerField(
        _("follow-up review after (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    quorum_ratio = models.DecimalField(
        _("quorum (share of active members)"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
        help_text=_(
            "A meeting has a quorum when more than this share of the active members is "
            "present (0.5: more than half; 1: all of them)."
        ),
    )
    sign_in_opens_hours = models.PositiveSmallIntegerField(
        _("sign-in opens (hours before the start)"),
        default=2,
        validators=[MaxValueValidator(24)],
        help_text=_(
            "Members can sign in at a meeting from this many hours before it starts until "
            "it is closed."
        ),
    )
    named_votes = models.BooleanField(
        _("votes by name"),
        default=False,
        help_text=_(
            "Record how each member present voted, instead of only the numbers for, against "
            "and abstaining."
        ),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "deliberation_council"
        verbose_name = _("council")
        verbose_name_plural = _("councils")
        ordering = ["community_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quorum_ratio__gt=0, quorum_ratio__lte=1),
                name="council_quorum_ratio_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CouncilMember(models.Model):
    """One term of a resident on their community's council.

    Leaving closes the term (``left_on``); joining again opens a new one, so the
    history of who served when is never overwritten.
    """

    class Role(models.TextChoices):
        LEADER = "leader", _("leader")
        DEPUTY = "deputy", _("deputy leader")
        MEMBER = "member", _("member")

    class Category(models.TextChoices):
        RETIRED_CADRE = "retired_cadre", _("retired cadre")
        PARTY_HOUSEHOLD = "party_household", _("party-member household")
        OLD_PARTY_MEMBER = "old_party_member", _("old party member")
        PARTY_VOLUNTEER = "party_volunteer", _("party volunteer")
        OLD_TEACHER = "old_teacher", _("old teacher")
        RESIDENT_REPRESENTATIVE = "resident_rep", _("resident representative")
        SELF_EMPLOYED = "self_employed_rep", _("self-employed representative")
        ENTERPRISE = "enterprise_rep", _("enterprise representative")
        OTHER = "other", _("other")

    council = models.ForeignKey(
        "members.Council",
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("council"),
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="council_terms", verbose_name=_("resident")
    )
    role = models.CharField(
        pgettext_lazy("council post", "role"), max_length=10, choices=Role, default=Role.MEMBER
    )
    category = models.CharField(_("category"), max_length=20, choices=Category)
    is_lane_leader = models.BooleanField(_("lane leader"), default=False)
    covers_lane = models.CharField(_("lane covered"), max_length=50, blank=True)
    is_building_leader = models.BooleanField(_("building leader"), default=False)
    covers_building = models.CharField(_("building covered"), max_length=50, blank=True)
    is_party_household = models.BooleanField(_("party-member household"), default=False)
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)
    leave_reason = models.CharField(_("reason for leaving"), max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("council member")
        verbose_name_plural = _("council members")
        ordering = ["council_id", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["council", "resident"],
                condition=Q(left_on__isnull=True),
                name="councilmember_one_open_term",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                name="councilmember_leaves_after_joining",
            ),
            models.CheckConstraint(
                condition=Q(is_lane_leader=False) | ~Q(covers_lane=""),
                name="councilmember_lane_leader_has_lane",
            ),
            models.CheckConstraint(
                condition=Q(is_building_leader=False) | ~Q(covers_building=""),
                name="councilmember_building_leader_has_building",
            ),
        ]

    def __str__(self) -> str:
        return self.resident.name

    @property
    def is_current(self) -> bool:
        return self.left_on is None


class Role(models.Model):
    """What an account may see and do, and where.

    One row per scope: a staff member of two communities has two rows.
    """

    class Kind(models.TextChoices):
        COMMUNITY_STAFF = "community_staff", _("community staff")
        STREET_ADMIN = "street_admin", _("street office admin")
        DEPARTMENT_HANDLER = "department_handler", _("department handler")
        COUNCIL_MEMBER = "council_member", _("council member")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(_("role"), max_length=20, choices=Kind)
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, null=True, blank=True, related_name="staff_roles"
    )
    street = models.ForeignKey(
        Street, on_delete=models.CASCADE, null=True, blank=True, related_name="admin_roles"
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="handler_roles"
    )
    council_member = models.ForeignKey(
        CouncilMember, on_delete=models.CASCADE, null=True, blank=True, related_name="roles"
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="community_staff",
                        community__isnull=False,
                        street__isnull=True,
                        department__isnull=True,
                        council_member__isnull=True,
                    )
                    | Q(
                        kind="street_admin",
                        community__isnull=True,
                        street__isnull=False,
                        department__isnull=True,
                        council_member__isnull=True,
                    )
                    | Q(
                        kind="department_handler",
                        community__isnull=True,
                        street__isnull=True,
                        department__isnull=False,
                        council_member__isnull=True,
                    )
                    | Q(
                        kind="council_member",
                        community__isnull=True,
                        street__isnull=True,
                        department__isnull=True,
                        council_member__isnull=False,
                    )
                ),
                name="role_scope_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["user", "community"],
                condition=Q(kind="community_staff"),
                name="role_unique_community_staff",
            ),
            models.UniqueConstraint(
                fields=["user", "street"],
                condition=Q(kind="street_admin"),
                name="role_unique_street_admin",
            ),
            models.UniqueConstraint(
                fields=["user", "department"],
                condition=Q(kind="department_handler"),
                name="role_unique_department_handler",
            ),
            models.UniqueConstraint(
                fields=["user", "council_member"],
                condition=Q(kind="council_member"),
                name="role_unique_council_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()}"


class OutsideUnit(models.Model):
    """A unit based in the community (驻地单位: a school, the power supply office, …),
    invited to its meetings as an outside party through its contact person."""

    community = models.ForeignKey(
        Community,
        on_delete=models.CASCADE,
        related_name="outside_units",
        verbose_name=_("community"),
    )
    name = models.CharField(_("unit"), max_length=100)
    contact_name = models.CharField(_("contact person"), max_length=50)
    phone = models.CharField(_("contact phone"), max_length=20)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("unit based in the area")
        verbose_name_plural = _("units based in the area")
        ordering = ["community_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="outsideunit_name_once"),
        ]

    def __str__(self) -> str:
        return self.name


class PhoneReveal(models.Model):
    """A full phone number was shown to someone (PIPL: each full view is recorded):
    a resident's or a unit's contact's."""

    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="phone_reveals")
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="phone_reveals"
    )
    unit = models.ForeignKey(
        OutsideUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="phone_reveals"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("phone number view")
        verbose_name_plural = _("phone number views")
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False, unit__isnull=True)
                | Q(resident__isnull=True, unit__isnull=False),
                name="phonereveal_resident_xor_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor} → {self.resident or self.unit} ({self.created:%Y-%m-%d %H:%M})"


class ExportRecord(models.Model):
    """Personal data left the system in a file (PIPL): who, what, with which filters, when.

    Written before the first byte goes out, so an export cut off half-way is still on
    the record; ``rows`` is filled in once the last row has been written, and only then.

    A small export is streamed in the request (``streaming`` until its end, then
    ``done``; ``incomplete`` with the rows sent so far when the reader went away). A large
    one is a job for a worker (``queued`` → ``building`` → ``done`` or ``failed``): the
    worker writes the file into storage, counting ``rows_written``; the person who asked
    downloads it until ``expires_at``, when the file is deleted (``expired``). The row is
    the record of the work: a sweeper hands lost or abandoned jobs to a worker again.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    class Status(models.TextChoices):
        STREAMING = "streaming", _("being sent")
        QUEUED = "queued", _("waiting")
        BUILDING = "building", _("being prepared")
        DONE = "done", _("complete")
        INCOMPLETE = "incomplete", _("cut off before its end")
        FAILED = "failed", _("could not be prepared")
        EXPIRED = "expired", _("expired")

    BUSY_STATES = ("queued", "building")

    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="exports")
    kind = models.CharField(_("what was exported"), max_length=30)
    format = models.CharField(_("format"), max_length=10, choices=Format)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    full_phones = models.BooleanField(_("full phone numbers included"), default=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.STREAMING, db_index=True
    )
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    rows_expected = models.PositiveIntegerField(_("rows expected"), null=True, blank=True)
    language = models.CharField(max_length=10, blank=True)
    file = models.FileField(max_length=300, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    # Set at each claim and each chunk written: a building job whose heartbeat stopped
    # lost its worker.
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "streaming", "queued", "building", "done", "incomplete", "failed",
                        "expired",
                    ]
                ),
                name="exportrecord_status_known",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.actor} · {self.kind}.{self.format} ({self.created:%Y-%m-%d %H:%M})"


class Notice(models.Model):
    """One notice to one person on one channel; the row is the record of work to do.

    ``key`` makes sending idempotent: notifying again with the same key finds
    the existing row instead of sending twice.
    """

    class Channel(models.TextChoices):
        INAPP = "inapp", _("in-app")
        EMAIL = "email", _("email")
        SMS = "sms", _("text message")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    # A person with an account; or none, for a text message to a resident's number.
    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="notices"
    )
    phone = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=50)
    channel = models.CharField(max_length=10, choices=Channel)
    context = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created", "-id"],
                condition=Q(channel="inapp"),
                name="notice_inbox",
            ),
            models.Index(fields=["status", "created"], name="notice_status"),
        ]
        constraints = [
            # Residents have no account and no inbox: they are reached by text message only.
            models.CheckConstraint(
                condition=Q(recipient__isnull=False) | Q(channel="sms"),
                name="notice_without_account_is_sms",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient or 'resident'} ({self.channel})"


class Submission(models.Model):
    """A form that created something was sent under this one-time key: a second post of
    the same drawn form (a double tap, a resend on a slow line) goes where the first went
    instead of creating it again (``members.submissions``)."""

    key = models.CharField(max_length=100, unique=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="submissions"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    result_url = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return f"{self.key} → {self.result_url}"
