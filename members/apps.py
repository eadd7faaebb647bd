from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self) -> None:
        from common.text import strip_bidi_from_form_text
        from members import extensions, notice_targets

        strip_bidi_from_form_text()

        for kind, target in notice_targets.TARGETS.items():
            extensions.notice_target.provide([kind], target)
