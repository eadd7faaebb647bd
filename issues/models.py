import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from common.choices import ChoiceLabelsOnce


class Category(models.Model):
    """A kind of problem, kept per street; street admins edit the list.

    Names are data, so each category carries its own Chinese and English name.
    """

    street = models.ForeignKey(
        "members.Street", on_delete=models.PROTECT, related_name="categories"
    )
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("Chinese name"), max_length=30)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    must_deliberate = models.BooleanField(
        _("must be deliberated"),
        default=False,
        help_text=_("One of the ten must-deliberate categories (十必议)."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)
    # Some matters (a repaired lift, a cleared drain) show whether they hold sooner or
    # later than the council's usual wait, so a category may set its own.
    review_after_days = models.PositiveSmallIntegerField(
        _("follow-up review after (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("Leave empty to use the council's setting."),
    )
    # How soon the resident hears back first (a reply, not the solution): a burst pipe
    # within a day, a parking dispute within a week. Overdue rules use it beside due_on.
    first_reply_days = models.PositiveSmallIntegerField(
        _("first reply within (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("Days the first reply to the resident may take; leave empty for no limit."),
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["street_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["street", "code"], name="category_unique_code"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


OPEN_STATUS_VALUES = ["submitted", "awaiting", "decided", "in_progress", "reopened", "deferred"]
# The columns of an issue its counts per character pair (PairCount) depend on.
PAIR_SOURCES = ("community_id", "category_id", "status", "search_bigrams")


class Issue(ChoiceLabelsOnce, models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        AWAITING = "awaiting", _("awaiting deliberation")
        DECIDED = "decided", _("decided")
        IN_PROGRESS = "in_progress", _("in progress")
        RESOLVED = "resolved", _("resolved")
        CLOSED = "closed", _("reviewed and closed")
        REOPENED = "reopened", _("reopened")
        DEFERRED = "deferred", _("deferred")
        NOT_ACTIONABLE = "not_actionable", _("not actionable")

    class Tier(models.TextChoices):
        COUNCIL = "council", _("council")
        COMMUNITY = "community", pgettext_lazy("tier", "community")
        STREET = "street", _("street office")
        DEPARTMENT = "department", pgettext_lazy("tier", "department")

    class Channel(models.TextChoices):
        PATROL = "patrol", _("patrol")
        SUGGESTION_BOX = "suggestion_box", _("suggestion box")
        CHAT_GROUP = "chat_group", _("chat group")
        HOME_VISIT = "home_visit", _("home visit")
        DELIBERATION_POINT = "deliberation_point", _("deliberation point")
        PUBLIC_FORM = "public_form", _("public form (QR code)")
        HOTLINE = "hotline", _("city hotline")
        # A concern a visiting team heard at a household (visits app), not staff's own visit.
        VISIT = "team_visit", _("visiting team")

    # The statuses of a matter still being worked on (the partial index below uses them too).
    OPEN_STATUSES = tuple(OPEN_STATUS_VALUES)

    community = models.ForeignKey(
        "members.Community", on_delete=models.PROTECT, related_name="issues"
    )
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="issues", verbose_name=_("category")
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_urgent = models.BooleanField(_("urgent"), default=False)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.SUBMITTED)
    tier = models.CharField(_("handled by"), max_length=20, choices=Tier, default=Tier.COUNCIL)

    reporter = models.ForeignKey(
        "members.Resident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_issues",
        verbose_name=_("reported by"),
    )
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entered_issues",
    )

    assigned_members = models.ManyToManyField(
        "members.CouncilMember", blank=True, related_name="assigned_issues"
    )
    assigned_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_issues",
    )
    assigned_department = models.ForeignKey(
        "members.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_issues",
    )
    due_on = models.DateField(_("due on"), null=True, blank=True)
    # Set from the category at report time and cleared by the first reply to the resident.
    reply_due_on = models.DateField(_("first reply due on"), null=True, blank=True)
    first_reply_at = models.DateTimeField(_("first replied at"), null=True, blank=True)
    # Residents who reported the same matter again ("me too"), kept in step with Supporter.
    supporter_count = models.PositiveIntegerField(_("also reported by"), default=0)

    deliberated_at = models.DateTimeField(_("deliberated at"), null=True, blank=True)
    outcome_note = models.TextField(_("explanation for the reporter"), max_length=2000, blank=True)
    tracking_code = models.CharField(max_length=12, unique=True)
    # Overlapping character pairs of the text: a GIN index over them finds
    # two-character Chinese words (电梯, 噪音) without reading every row.
    search_bigrams = models.TextField(blank=True, editable=False)
    version = models.PositiveIntegerField(default=1)

    created = models.DateTimeField(auto_now_add=True, db_index=False)
    updated = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When the matter was closed or found not actionable: contact details are
    # erased a fixed time after this (issues.actions.upkeep.contact_details_erase).
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("issue")
        verbose_name_plural = _("issues")
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["community", "-created", "-id"], name="issue_inbox"),
            # Inboxes over several communities (street admins, staff of more than one):
            # newest first across them, so a page reads a page of rows, not all of them.
            models.Index(fields=["-created", "-id"], name="issue_recent"),
            models.Index(fields=["community", "status"], name="issue_status"),
            models.Index(
                fields=["due_on"],
                condition=Q(status__in=OPEN_STATUS_VALUES),
                name="issue_open_due",
            ),
            # The dashboards (reports.dashboard): the issues a period collected, counted by
            # category, channel, tier, status and due date from the index alone …
            models.Index(
                fields=["community", "created", "category", "channel", "tier", "status", "due_on"],
                name="issue_period",
            ),
            # … and those it resolved, with their days from report to resolution.
            models.Index(fields=["community", "resolved_at", "created"], name="issue_resolved"),
            # … and those of them still open, with their due dates (a month's refresh reads
            # them for IssueMonth.open_due, a dashboard for the part of a month it cuts).
            models.Index(
                fields=["community", "created", "due_on", "reply_due_on"],
                condition=Q(status__in=OPEN_STATUS_VALUES),
                name="issue_open_period",
            ),
            # … and the residents who said "me too" on them: the few issues that have any.
            models.Index(
                fields=["community", "created", "supporter_count"],
                condition=Q(supporter_count__gt=0),
                name="issue_also_reported",
            ),
            models.Index(
                fields=["reply_due_on"],
                condition=Q(status__in=OPEN_STATUS_VALUES, reply_due_on__isnull=False),
                name="issue_open_reply_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    # (community, reported, resolved) as last read or saved: issues.rollup refreshes the
    # months an issue leaves (a reopen clears its resolution) as well as those it is in.
    stored_for_rollup: tuple | None = None
    # (community, status) as last read or saved: issues.rollup moves the issue from the
    # count it leaves to the one it joins.
    stored_for_counts: tuple | None = None
    # (community, category, status, character pairs) as last read or saved: the same, for
    # the counts per character pair.
    stored_for_pairs: tuple | None = None

    @classmethod
    def from_db(cls, db, field_names, values):
        issue = super().from_db(db, field_names, values)
        loaded = issue.__dict__
        if all(name in loaded for name in ("community_id", "created", "resolved_at")):
            issue.stored_for_rollup = (issue.community_id, issue.created, issue.resolved_at)
        if "community_id" in loaded and "status" in loaded:
            issue.stored_for_counts = (issue.community_id, issue.status)
        if all(name in loaded for name in PAIR_SOURCES):
            issue.stored_for_pairs = tuple(loaded[name] for name in PAIR_SOURCES)
        return issue

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue(self, today) -> bool:
        """Open past its due date, or past the day its first reply was due."""
        return bool(self.is_open and self.due_on and self.due_on < today) or (
            self.is_reply_overdue(today)
        )

    def is_reply_overdue(self, today) -> bool:
        return bool(self.is_open and self.reply_due_on and self.reply_due_on < today)

    @classmethod
    def overdue_q(cls, today) -> Q:
        """The filter that matches ``is_overdue`` in the database."""
        return Q(status__in=OPEN_STATUS_VALUES) & (Q(due_on__lt=today) | Q(reply_due_on__lt=today))


class Photo(models.Model):
    class Kind(models.TextChoices):
        REPORT = "report", _("reported")
        COMPLETION = "completion", _("completion")
        PROGRESS = "progress", _("progress")

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="issues/%Y/%m/", width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=Kind, default=Kind.REPORT)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.issue_id}: {self.image.name}"


class Event(ChoiceLabelsOnce, models.Model):
    """One line of an issue's timeline: who did what, when, and why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("reported")
        STATUS = "status", _("status changed")
        TIER = "tier", _("handling tier changed")
        ASSIGNED = "assigned", _("assigned")
        DUE = "due", _("due date set")
        # Staff's own notes: never on the tracking page, in texts or in residents' exports.
        COMMENT = "comment", _("internal note")
        REPLY = "reply", _("reply to the resident")
        PHOTO = "photo", _("photo added")
        ESCALATED = "escalated", _("escalated")
        ACCEPTED = "accepted", _("escalation accepted")
        RETURNED = "returned", _("escalation returned")
        HANDLED = "handled", _("handled by the department")
        CONFIRMED = "confirmed", _("handling confirmed")
        REWORK = "rework", _("returned to the department as not done")
        EDITED = "edited", _("details edited")
        OVERDUE = "overdue", _("overdue reminder sent")
        CONTACT_ERASED = "contact_erased", _("contact details erased")
        DELIBERATED = "deliberated", _("deliberated at a council meeting")
        REVIEW_SENT = "review_sent", _("follow-up review started")
        REVIEW_REMINDED = "review_reminded", _("reminded the reporter to rate")
        ME_TOO = "me_too", _("another resident reported it too")
        PARTY_ASSIGNED = "party_assigned", _("work given to an outside party")
        PARTY_REPLIED = "party_replied", _("an outside party replied")
        RATED = "rated", _("the reporter rated the outcome")
        REVIEWED = "reviewed", _("follow-up review recorded by the council")
        TASK_PROGRESS = "task_progress", _("progress on the council's task")
        TASK_DONE = "task_done", _("the council's task reported done")
        TASK_CONFIRMED = "task_confirmed", _("the council's task confirmed done")
        TASK_RETURNED = "task_returned", _("the council's task returned")
        VOLUNTEER_WORK = "volunteer_work", _("volunteers did the work")

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    kind = models.CharField(max_length=20, choices=Kind)
    from_value = models.CharField(max_length=30, blank=True)
    to_value = models.CharField(max_length=30, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["issue", "created", "id"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.issue_id} {self.kind}"

    @property
    def volunteer_work_detail(self) -> str:
        """What volunteers did (a ``volunteer_work`` event): "小蜜蜂, 3 volunteers, 4 h 30 min
        in total", in the reader's language."""
        people = int(self.data.get("volunteers", 0))
        hours, minutes = divmod(int(self.data.get("minutes", 0)), 60)
        served = ngettext("%(count)s volunteer", "%(count)s volunteers", people) % {"count": people}
        return gettext("%(team)s, %(served)s, %(hours)s h %(minutes)s min in total") % {
            "team": self.data.get("team", ""),
            "served": served,
            "hours": hours,
            "minutes": minutes,
        }


class TaskReport(models.Model):
    """A council member's word that the council's own task on a matter is done, and what
    the community's staff or the council's leader made of it: confirmed (the matter is
    resolved) or returned with a reason (the task is open again).

    At most one report per matter waits for an answer at a time.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for confirmation")
        CONFIRMED = "confirmed", _("confirmed")
        RETURNED = "returned", _("returned")

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="task_reports")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("what was done"), max_length=2000)
    state = models.CharField(max_length=12, choices=State, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(_("reason for returning"), max_length=2000, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("task report")
        verbose_name_plural = _("task reports")
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue"], condition=Q(state="pending"), name="taskreport_one_pending"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "confirmed", "returned"]),
                name="taskreport_state_known",
            ),
            models.CheckConstraint(
                condition=~Q(state="returned") | ~Q(return_reason=""),
                name="taskreport_returned_with_reason",
            ),
        ]
        indexes = [models.Index(fields=["issue", "state"], name="taskreport_issue_state")]

    def __str__(self) -> str:
        return f"{self.issue_id} {self.state}"


class Escalation(models.Model):
    """A matter sent up to the street office, and what the street did with it."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for the street office")
        ACCEPTED = "accepted", _("assigned to a department")
        HANDLED = "handled", _("handled, waiting for confirmation")
        CONFIRMED = "confirmed", _("confirmed")
        RETURNED = "returned", _("returned to the community")

    OPEN_STATES = (State.PENDING, State.ACCEPTED, State.HANDLED)

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="escalations")
    street = models.ForeignKey(
        "members.Street", on_delete=models.PROTECT, related_name="escalations"
    )
    reason = models.TextField(_("reason"), max_length=2000)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=12, choices=State, default=State.PENDING)
    department = models.ForeignKey(
        "members.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations",
        verbose_name=_("department"),
    )
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(_("reason for returning"), max_length=2000, blank=True)
    reply = models.TextField(_("reply"), max_length=2000, blank=True)
    # Why the street office sent the department's report back as not done (the latest time).
    rework_reason = models.TextField(_("why it is not done"), max_length=2000, blank=True)
    reworked_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue"],
                condition=Q(state__in=["pending", "accepted", "handled"]),
                name="escalation_one_open_per_issue",
            ),
        ]
        indexes = [
            models.Index(fields=["street", "state", "created"], name="escalation_queue"),
            models.Index(fields=["department", "state"], name="escalation_department"),
            # The street dashboard's departments: escalations assigned in a period, and
            # those of them still with the department (overdue depends on today: read live).
            models.Index(fields=["street", "decided_at"], name="escalation_decided"),
            models.Index(
                fields=["street", "decided_at", "deadline"],
                include=["department"],
                condition=Q(state="accepted", department__isnull=False),
                name="escalation_with_department",
            ),
            # Each department's month (or the part of one a period cuts), from the index alone.
            models.Index(
                fields=["department", "decided_at"],
                include=["handled_at"],
                name="escalation_department_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue_id} → {self.street_id} ({self.state})"


def new_review_nonce() -> str:
    return secrets.token_hex(16)


class FollowUpReview(models.Model):
    """A resolved matter's follow-up review (回头议), due some days after it was resolved.

    The row is the promise that someone goes back and asks whether the fix held;
    a sweeper claims due rows, asks the reporter (a rating link) and puts the matter
    on the council's next agenda (``issues.reviews``).

    pending → sent (the reporter was asked, the council will review) → done (closed or
    reopened); a reopen before that cancels it.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("waiting until due")
        SENT = "sent", _("under review")
        DONE = "done", _("reviewed")
        CANCELLED = "cancelled", _("called off")

    class CouncilOutcome(models.TextChoices):
        EFFECTIVE = "effective", _("the fix worked")
        NOT_EFFECTIVE = "not_effective", _("the fix did not work")

    class Result(models.TextChoices):
        CLOSED = "closed", _("closed")
        REOPENED = "reopened", _("reopened")

    LIVE_STATES = (State.PENDING, State.SENT)

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="reviews")
    # The resolution under review (the issue's own resolved_at is cleared by a reopen).
    resolved_at = models.DateTimeField(_("resolved at"))
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(_("state"), max_length=12, choices=State, default=State.PENDING)
    created = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The rating link is an HMAC of the row's id and this nonce (``issues.reviews``):
    # the table alone does not give the links away.
    nonce = models.CharField(max_length=32, default=new_review_nonce, editable=False)
    sent_at = models.DateTimeField(_("reporter asked at"), null=True, blank=True)
    link_expires_at = models.DateTimeField(_("rating link expires at"), null=True, blank=True)
    remind_at = models.DateTimeField(_("reminder due at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    # Set once the review was placed on a meeting's agenda (or there was none to place it on
    # and the sweeper should try again: then still null).
    put_on_agenda_at = models.DateTimeField(null=True, blank=True)
    council_outcome = models.CharField(
        _("council's review"), max_length=16, choices=CouncilOutcome, blank=True
    )
    council_notes = models.TextField(_("council's notes"), blank=True)
    council_recorded_at = models.DateTimeField(null=True, blank=True)
    council_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result = models.CharField(_("result"), max_length=10, choices=Result, blank=True)
    finished_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follow-up review")
        verbose_name_plural = _("follow-up reviews")
        ordering = ["due_at", "id"]
        constraints = [
            # A matter resolved once is reviewed once; a reopen cancels the live row first.
            models.UniqueConstraint(
                fields=["issue"],
                condition=Q(state__in=["pending", "sent"]),
                name="review_one_live_per_issue",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sent", "done", "cancelled"]),
                name="review_state_known",
            ),
            models.CheckConstraint(
                condition=~Q(state="done")
                | (Q(result__in=["closed", "reopened"]) & Q(finished_at__isnull=False)),
                name="review_done_has_result",
            ),
        ]
        indexes = [
            # The sweeper's question, "which pending reviews are due?", reads only those rows.
            models.Index(
                fields=["due_at"], condition=Q(state="pending"), name="review_pending_due"
            ),
            models.Index(
                fields=["remind_at"],
                condition=Q(reminded_at__isnull=True, state__in=["sent", "done"]),
                name="review_reminder_due",
            ),
            models.Index(
                fields=["sent_at"],
                condition=Q(state="sent", put_on_agenda_at__isnull=True),
                name="review_agenda_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue_id} @ {self.due_at:%Y-%m-%d} ({self.state})"


class Rating(models.Model):
    """What the resident said of the outcome (评单), by the rating link or told to staff.

    Satisfaction uses the government service scale residents know (好差评), stored 5–1.
    """

    class Fixed(models.TextChoices):
        YES = "yes", _("yes, it was fixed")
        PARTLY = "partly", _("partly")
        NO = "no", _("no, it was not fixed")

    class Satisfaction(models.IntegerChoices):
        VERY_SATISFIED = 5, _("very satisfied")
        SATISFIED = 4, _("satisfied")
        FAIRLY_SATISFIED = 3, _("fairly satisfied")
        DISSATISFIED = 2, _("dissatisfied")
        VERY_DISSATISFIED = 1, _("very dissatisfied")

    class Source(models.TextChoices):
        LINK = "link", _("by the rating link")
        IN_PERSON = "in_person", _("in person, recorded by staff")
        PHONE = "phone", _("by phone, recorded by staff")

    SATISFIED_FROM = 4
    REOPENS_BELOW = 3
    # Told to staff, who entered it: counted in the figures like any rating, shown apart.
    RECORDED_BY_STAFF = (Source.IN_PERSON, Source.PHONE)

    review = models.OneToOneField(
        FollowUpReview, on_delete=models.CASCADE, related_name="rating", verbose_name=_("review")
    )
    fixed = models.CharField(_("was it fixed?"), max_length=8, choices=Fixed)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), choices=Satisfaction)
    comment = models.TextField(_("comment"), max_length=500, blank=True)
    source = models.CharField(_("collected"), max_length=10, choices=Source)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["created", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__gte=1, satisfaction__lte=5), name="rating_scale"
            ),
            models.CheckConstraint(
                condition=Q(fixed__in=["yes", "partly", "no"]), name="rating_fixed_known"
            ),
            models.CheckConstraint(
                condition=Q(source="link", recorded_by__isnull=True)
                | Q(source__in=["in_person", "phone"], recorded_by__isnull=False),
                name="rating_staff_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.review_id}: {self.fixed} {self.satisfaction}"

    @property
    def reopens(self) -> bool:
        return self.fixed == self.Fixed.NO or self.satisfaction < self.REOPENS_BELOW


class IssueMonth(models.Model):
    """One community's issue figures for one local month, kept exact by issues.rollup."""

    community = models.ForeignKey("members.Community", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # its first day
    collected = models.PositiveIntegerField(default=0)
    # Issues reported in the month, by category id, channel and handling tier.
    categories = models.JSONField(default=dict)
    channels = models.JSONField(default=dict)
    tiers = models.JSONField(default=dict)
    # Seconds from report to resolution of each issue resolved in the month, in order, as
    # packed 32-bit integers (issues.rollup.pack).
    resolution_seconds = models.BinaryField(default=b"")
    # The first due day of each issue reported in the month and still open (the earlier of
    # its due date and its first-reply date, as a day number; none: issues.rollup.NO_DUE),
    # in order, packed the same way: still open is how many, overdue on a day how many
    # fall before it.
    open_due = models.BinaryField(default=b"")
    refreshed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "month"], name="issue_month_unique")
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.month:%Y-%m}"


class IssueCount(models.Model):
    """How many issues one community holds in one status, kept exact by issues.rollup.

    The inbox's per-status counts add these rows up instead of counting the issues.
    """

    community = models.ForeignKey("members.Community", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=Issue.Status)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "status"], name="issue_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.status} {self.n}"


class PairCount(models.Model):
    """How many issues of one community, category and status hold one character pair in
    their text (``Issue.search_bigrams``), kept exact by issues.rollup.

    A search for one two-character word (电梯) matches exactly the issues holding that pair,
    so the inbox's counts for it add these rows up instead of reading the word's every
    issue from the index.
    """

    pair = models.CharField(max_length=2)
    # Read by pair (pair_count_read); the nightly recount of a community and the removal of
    # a community or of a category (only when no issue has it) may read the whole table.
    community = models.ForeignKey(
        "members.Community", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    status = models.CharField(max_length=20, choices=Issue.Status)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "community", "category", "status"], name="pair_count_unique"
            )
        ]
        # A search's counts from the index alone (PostgreSQL): a common pair's rows lie on
        # as many table pages as there are rows.
        indexes = [
            models.Index(
                fields=["pair", "community", "status"],
                include=["category", "n"],
                name="pair_count_read",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pair} {self.community_id} {self.category_id} {self.status} {self.n}"


class DepartmentMonth(models.Model):
    """The escalations assigned to one department in one local month, kept by issues.rollup."""

    department = models.ForeignKey("members.Department", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # its first day
    assigned = models.PositiveIntegerField(default=0)
    # Seconds from assignment to handling of each escalation handled, in order, as packed
    # 32-bit integers (issues.rollup.pack).
    handling_seconds = models.BinaryField(default=b"")
    refreshed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "month"], name="department_month_unique")
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.month:%Y-%m}"


class ReplyTemplate(models.Model):
    """A reply the street's staff and departments reuse, with placeholders for the
    resident's name, the tracking code and dates (issues.replies)."""

    street = models.ForeignKey(
        "members.Street", on_delete=models.CASCADE, related_name="reply_templates"
    )
    title = models.CharField(_("title"), max_length=60)
    body = models.TextField(_("text"), max_length=1000)
    is_active = models.BooleanField(_("in use"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["street_id", "title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["street", "title"],
                condition=Q(is_active=True),
                name="reply_template_unique_title",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Supporter(models.Model):
    """A resident who reported an open matter again ("me too", 我也遇到了) instead of filing a
    second one: counted once per person (resident, account or phone) and told of progress."""

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="supporters")
    resident = models.ForeignKey(
        "members.Resident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Issue.Channel)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("resident who also reported")
        verbose_name_plural = _("residents who also reported")
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "resident"],
                condition=Q(resident__isnull=False),
                name="supporter_once_per_resident",
            ),
            models.UniqueConstraint(
                fields=["issue", "user"],
                condition=Q(user__isnull=False),
                name="supporter_once_per_account",
            ),
            models.UniqueConstraint(
                fields=["issue", "phone"], condition=~Q(phone=""), name="supporter_once_per_phone"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue_id}: {self.name or self.resident_id or self.user_id}"
