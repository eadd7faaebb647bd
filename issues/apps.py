from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IssuesConfig(AppConfig):
    name = "issues"
    verbose_name = _("Issues")

    def ready(self) -> None:
        from issues import figures, notice_targets
        from members import extensions

        extensions.review_figures.provide(figures.review_figures)
        extensions.review_figures_with_total.provide(figures.review_figures_with_total)
        extensions.notice_target.provide(notice_targets.ISSUE_KINDS, notice_targets.issue_page)
        extensions.notice_target.provide(notice_targets.TASK_KINDS, notice_targets.task_page)
        extensions.notice_target.provide(notice_targets.EXPORT_KINDS, notice_targets.export_page)
        extensions.notice_target.provide(
            notice_targets.ESCALATION_KINDS, notice_targets.escalation_page
        )
