from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = _("Volunteers")

    def ready(self) -> None:
        from deliberation import extensions as deliberation_extensions
        from issues import extensions as issue_extensions
        from members import extensions
        from volunteers import demo, home, issue_page

        extensions.volunteering.provide(home.volunteering)
        issue_extensions.volunteer_work.provide(issue_page.volunteer_work)
        issue_extensions.issue_page_facts.provide(issue_page.facts)
        deliberation_extensions.demo_seed.provide([self.label], demo.seed_street)
