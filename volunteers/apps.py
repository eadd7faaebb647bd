from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = _("Volunteers")

    def ready(self) -> None:
        from deliberation import extensions as deliberation_extensions
        from members import extensions
        from volunteers import demo, home

        extensions.volunteering.provide(home.volunteering)
        deliberation_extensions.demo_seed.provide([self.label], demo.seed_street)
