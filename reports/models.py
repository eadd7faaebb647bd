from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PeriodReport(models.Model):
    """A quarter's or a year's report of a community or a street, rendered to PDF by a task.

    The row is the record of the work: a report asked for is pending until a worker builds
    it, and a sweeper hands pending ones to a worker again if the first message was lost.
    One report of a scope, period and language is built at a time (the partial unique
    constraint), so asking twice while it runs starts nothing more.
    """

    class Kind(models.TextChoices):
        QUARTER = "quarter", _("quarterly report")
        YEAR = "year", _("year-end report")

    class State(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("being prepared")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    BUSY_STATES = ("pending", "running")

    community = models.ForeignKey(
        "members.Community",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="period_reports",
    )
    street = models.ForeignKey(
        "members.Street", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # "community:<id>" or "street:<id>": one value the unique constraint below can compare.
    scope_key = models.CharField(max_length=30)
    kind = models.CharField(_("report"), max_length=10, choices=Kind)
    since = models.DateField(_("from"))
    until = models.DateField(_("to"))
    language = models.CharField(max_length=10)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="reports/%Y/", blank=True)
    size = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "issues_periodreport"
        verbose_name = _("period report")
        verbose_name_plural = _("period reports")
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(community__isnull=True, street__isnull=False)
                | Q(community__isnull=False, street__isnull=True),
                name="periodreport_one_scope",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "running", "done", "failed"]),
                name="periodreport_state_known",
            ),
            models.CheckConstraint(
                condition=Q(until__gte=models.F("since")), name="periodreport_range"
            ),
            models.UniqueConstraint(
                fields=["scope_key", "since", "until", "language"],
                condition=Q(state__in=["pending", "running"]),
                name="periodreport_one_busy",
            ),
        ]
        indexes = [
            models.Index(fields=["community", "-created"], name="periodreport_community"),
            models.Index(fields=["street", "-created"], name="periodreport_street"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.since}–{self.until}"
