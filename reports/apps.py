from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Dashboards and period reports: figures read from every domain below."""

    name = "reports"
    verbose_name = _("Reports")
