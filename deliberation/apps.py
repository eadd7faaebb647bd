from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliberationConfig(AppConfig):
    name = "deliberation"
    verbose_name = _("Deliberation")

    def ready(self) -> None:
        from deliberation import issue_page, notice_targets, queries
        from deliberation.actions import review_items
        from issues import extensions
        from members import extensions as members_extensions

        extensions.convene_form.provide(issue_page.convene_form)
        extensions.guest_issue_ids.provide(queries.guest_issue_ids)
        members_extensions.guest_start_page.provide(notice_targets.guest_start_page)
        extensions.review_items_reopen.provide(review_items.agenda_review_items_reopen)
        extensions.review_items_done.provide(review_items.agenda_review_items_done)
        members_extensions.notice_target.provide(
            notice_targets.MEETING_KINDS, notice_targets.meeting_page
        )
        members_extensions.notice_target.provide(
            notice_targets.MINUTES_KINDS, notice_targets.minutes_page
        )
