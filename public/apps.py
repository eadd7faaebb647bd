from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicConfig(AppConfig):
    """The residents' pages without an account: report, track, rate, transparency."""

    name = "public"
    verbose_name = _("Public pages")
