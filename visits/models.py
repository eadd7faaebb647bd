"""Visiting teams (走访工作团队): their pairings with compounds, the quarter's rounds, visits."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Team(models.Model):
    """A street's work team of cadres, paired with compounds whose households it visits."""

    street = models.ForeignKey(
        "members.Street", on_delete=models.PROTECT, related_name="visit_teams"
    )
    name = models.CharField(pgettext_lazy("team", "name"), max_length=80)
    leader = models.ForeignKey(
        "members.User",
        on_delete=models.PROTECT,
        related_name="led_visit_teams",
        verbose_name=_("team leader"),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("visiting team")
        verbose_name_plural = _("visiting teams")
        ordering = ["street_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="visit_team_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """One term of an account on a team; leaving closes it, so history stays."""

    class Kind(models.TextChoices):
        STREET_STAFF = "street_staff", _("street staff")
        SENT_DOWN = "sent_down", _("cadre sent down (下沉干部)")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        "members.User", on_delete=models.PROTECT, related_name="visit_team_terms"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.STREET_STAFF)
    department = models.ForeignKey(
        "members.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent down from"),
    )
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["team_id", "joined_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"],
                condition=Q(left_on__isnull=True),
                name="visit_member_one_open_term",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                name="visit_member_leaves_after_joining",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.team}"


class Pairing(models.Model):
    """A team paired (结对) with a compound: a whole community, a lane or a building in it.

    Ending a pairing dates it; pairing again opens a new row, so history stays. A compound
    has at most one open pairing (the partial unique constraint below).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="pairings")
    community = models.ForeignKey(
        "members.Community",
        on_delete=models.PROTECT,
        related_name="visit_pairings",
        verbose_name=_("community"),
    )
    # Both empty: the whole community.
    lane = models.CharField(_("lane"), max_length=50, blank=True)
    building = models.CharField(_("building"), max_length=50, blank=True)
    started_on = models.DateField(_("paired since"))
    ended_on = models.DateField(_("paired until"), null=True, blank=True)

    class Meta:
        verbose_name = _("pairing")
        verbose_name_plural = _("pairings")
        ordering = ["community_id", "lane", "building", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "lane", "building"],
                condition=Q(ended_on__isnull=True),
                name="visit_pairing_one_open_per_compound",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="visit_pairing_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (str(self.community), self.lane, self.building) if part)

    @property
    def compound(self) -> str:
        return " ".join(part for part in (self.lane, self.building) if part)


class Round(models.Model):
    """A quarter's concentrated visiting round (集中走访) of one street; due on the 10th."""

    street = models.ForeignKey(
        "members.Street", on_delete=models.PROTECT, related_name="visit_rounds"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    opened_on = models.DateField(_("opened on"))
    due_on = models.DateField(_("due on"))
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("visiting round")
        verbose_name_plural = _("visiting rounds")
        ordering = ["-year", "-quarter", "street_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["street", "year", "quarter"], name="visit_round_once_a_quarter"
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=1, quarter__lte=4), name="visit_round_quarter_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} Q{self.quarter}"


class Building(models.Model):
    """A building of a community as the housing records know it, with its number of flats.

    Where the residents register is thin — it holds fewer households in a building than
    the building has flats, or none — a round gives the building's team one target for the
    building itself, standing for its flats not on the register (``Target.unregistered``).
    """

    community = models.ForeignKey(
        "members.Community",
        on_delete=models.PROTECT,
        related_name="visit_buildings",
        verbose_name=_("community"),
    )
    lane = models.CharField(_("lane"), max_length=50, blank=True)
    building = models.CharField(_("building"), max_length=50)
    flats = models.PositiveIntegerField(
        _("flats"), validators=[MinValueValidator(1), MaxValueValidator(10_000)]
    )

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["community_id", "lane", "building", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "lane", "building"], name="visit_building_once"
            ),
            models.CheckConstraint(condition=Q(flats__gte=1), name="visit_building_has_flats"),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.lane, self.building) if part)


class Target(models.Model):
    """A household a team must visit in a round: one row per address (lane, building, room),
    or per resident where the register has no room; ``resident`` is the household's first
    resident on the register. A building whose register is thin is a target of its own,
    with no resident: ``unregistered`` says how many of its flats the register lacks (0
    when its number of flats is not known)."""

    # A round writes hundreds of thousands of these at once: no index a query does not use
    # (round and team lead the two below; communities and residents are never deleted),
    # and no foreign-key triggers in the database: each would check every row written, about
    # 2 s per key for 200,000 households (bench/RESULTS.md). The rows come from a join of
    # the referenced rows in the round's own transaction; deletes go through Django, which
    # still cascades (rounds, teams) and protects (communities, residents).
    round = models.ForeignKey(
        Round,
        on_delete=models.CASCADE,
        related_name="targets",
        db_index=False,
        db_constraint=False,
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="targets", db_index=False, db_constraint=False
    )
    community = models.ForeignKey(
        "members.Community",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    resident = models.ForeignKey(
        "members.Resident",
        on_delete=models.PROTECT,
        related_name="visit_targets",
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
    )
    lane = models.CharField(max_length=50, blank=True)
    building = models.CharField(max_length=50, blank=True)
    room = models.CharField(max_length=30, blank=True)
    unregistered = models.PositiveIntegerField(default=0)
    visited_on = models.DateField(_("visited on"), null=True, blank=True)

    class Meta:
        ordering = ["lane", "building", "room", "id"]
        indexes = [
            # A team's households in the page's order (keyset pages without a sort of the
            # team's thousands of rows); visited_on last so that the tallies and the "left
            # only" filter are read from the index alone.
            models.Index(
                fields=[
                    "team",
                    "round",
                    "community",
                    "lane",
                    "building",
                    "room",
                    "id",
                    "visited_on",
                ],
                name="visit_target_page",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["round", "resident"], name="visit_target_once"),
            models.UniqueConstraint(
                fields=["round", "community", "lane", "building"],
                condition=Q(resident__isnull=True),
                name="visit_target_building_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round} · {self.address or self.resident_id}"

    @property
    def address(self) -> str:
        return " ".join(part for part in (self.lane, self.building, self.room) if part)

    @property
    def is_building(self) -> bool:
        return self.resident_id is None


class Tally(models.Model):
    """A team's progress in a round: its targets and how many are visited, kept as the
    targets are written and visited, so that the street's page, a team's page and the
    review read one row per team instead of counting a round's hundreds of thousands of
    targets on every request. ``visits.actions.rounds.tallies_recount`` rebuilds them."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="tallies")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tallies")
    target = models.PositiveIntegerField(default=0)
    visited = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "round"], name="visit_tally_once"),
            models.CheckConstraint(
                condition=Q(visited__lte=F("target")), name="visit_tally_visited_of_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round} · {self.team_id}: {self.visited}/{self.target}"


class Visit(models.Model):
    """A team's visit to a household: who went, what was said. Never public."""

    class Kind(models.TextChoices):
        CONCENTRATED = "concentrated", _("quarterly round (集中走访)")
        THEMATIC = "thematic", _("thematic visit (专题走访)")
        ASKED_FOR = "asked_for", _("visit a resident asked for (应约走访)")
        RETURN = "return", _("return visit (工作回访)")

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="visits")
    resident = models.ForeignKey(
        "members.Resident", on_delete=models.PROTECT, related_name="visits"
    )
    target = models.ForeignKey(
        Target, on_delete=models.SET_NULL, null=True, blank=True, related_name="visits"
    )
    kind = models.CharField(_("kind of visit"), max_length=20, choices=Kind)
    visited_on = models.DateField(_("visited on"))
    visitors = models.ManyToManyField(
        "members.User", related_name="visits_made", verbose_name=_("who went")
    )
    notes = models.TextField(_("what was said"), max_length=4000, blank=True)
    # A return visit (工作回访): the concern whose resolved matter it went back about.
    return_of = models.ForeignKey(
        "VisitConcern",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="return_visits",
        verbose_name=_("return visit about"),
    )
    recorded_by = models.ForeignKey(
        "members.User", on_delete=models.PROTECT, related_name="visits_recorded"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-id"]
        indexes = [models.Index(fields=["team", "-visited_on", "-id"], name="visit_list")]

    def __str__(self) -> str:
        return f"{self.resident} · {self.visited_on}"


class VisitConcern(models.Model):
    """A concern raised on a visit, taken in as a matter (channel 入户走访)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="concerns")
    issue = models.OneToOneField(
        "issues.Issue", on_delete=models.PROTECT, related_name="visit_concern"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.visit} → {self.issue_id}"


class ReviewThresholds(models.Model):
    """A street's bar for the quarter's review: a team below either share is flagged."""

    street = models.OneToOneField(
        "members.Street", on_delete=models.CASCADE, related_name="visit_review_thresholds"
    )
    visited_percent = models.PositiveSmallIntegerField(
        _("households visited, at least (%)"),
        default=90,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    satisfied_percent = models.PositiveSmallIntegerField(
        _("satisfied ratings, at least (%)"),
        default=80,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        verbose_name = _("review thresholds")
        verbose_name_plural = _("review thresholds")
        constraints = [
            models.CheckConstraint(
                condition=Q(visited_percent__lte=100, satisfied_percent__lte=100),
                name="visit_thresholds_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.street_id}: {self.visited_percent}% / {self.satisfied_percent}%"


class AskedVisit(models.Model):
    """A visit a resident asked for (应约走访) from the community's public page. It goes to
    the team paired with the community; a member schedules it (the resident gets one text
    with the date), and recording the visit closes it. Never public."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("waiting for a date")
        SCHEDULED = "scheduled", _("scheduled")
        VISITED = "visited", _("visited")

    OPEN_STATES = (State.REQUESTED, State.SCHEDULED)

    community = models.ForeignKey(
        "members.Community", on_delete=models.PROTECT, related_name="asked_visits"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="asked_visits")
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    # When the resident agreed to be called or texted at that number about this visit.
    phone_consent_at = models.DateTimeField(null=True, blank=True)
    address = models.CharField(_("address"), max_length=100, blank=True)
    topic = models.CharField(_("what about"), max_length=200)
    preferred_times = models.CharField(_("preferred times"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State, default=State.REQUESTED)
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    scheduled_by = models.ForeignKey(
        "members.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="asked"
    )
    created = models.DateTimeField(auto_now_add=True)
    # When the name, phone, address and preferred times were erased (the form's promise:
    # six months after the visit, a year after asking when no visit was made).
    contact_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("asked-for visit")
        verbose_name_plural = _("asked-for visits")
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["team", "state", "created"], name="asked_visit_list")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(phone="", address="") | Q(contact_erased_at__isnull=False),
                name="asked_visit_phone_or_address",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.topic}"


class AskedPhoneReveal(models.Model):
    """The full number a resident left when asking for a visit was shown to a team member
    (PIPL: each full view is recorded, as ``members.PhoneReveal`` does for residents)."""

    actor = models.ForeignKey(
        "members.User", on_delete=models.PROTECT, related_name="asked_phone_reveals"
    )
    asked = models.ForeignKey(AskedVisit, on_delete=models.PROTECT, related_name="phone_reveals")
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("phone number view")
        verbose_name_plural = _("phone number views")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} → {self.asked_id} ({self.created:%Y-%m-%d %H:%M})"
