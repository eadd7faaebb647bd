from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = _("Visiting teams")

    def ready(self) -> None:
        from deliberation import extensions as deliberation_extensions
        from members import extensions
        from visits import demo, notice_targets

        extensions.start_page.provide(notice_targets.start_page)
        extensions.notice_target.provide(notice_targets.TEAM_KINDS, notice_targets.team_page)
        deliberation_extensions.demo_seed.provide([self.label], demo.seed)
