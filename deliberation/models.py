from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("council")
        verbose_name_plural = _("councils")
        ordering = ["community_id"]

    def __str__(self) -> str:
        return self.name
