"""What an issue's page shows that only apps above issues know (see common.extensions)."""

from common.extensions import ExtensionPoint

# (user, issue) -> the form that convenes an urgent meeting about the issue, or None when
# the user may not convene one for it. The meetings app provides it; without it, no form.
convene_form = ExtensionPoint("issues.convene_form", default=lambda user, issue: None)

# (issue_id=) -> how many items changed: the matter was reopened, so the follow-up review
# items waiting for it on meetings to come become items that deliberate it again. The
# meetings app provides it; it runs inside the transaction that reopens the matter.
review_items_reopen = ExtensionPoint("issues.review_items_reopen", default=lambda *, issue_id: 0)

# (issue_id=, now=) -> how many items changed: the matter's review is over, so its review
# items still waiting on meetings to come are taken off. The meetings app provides it.
review_items_done = ExtensionPoint("issues.review_items_done", default=lambda *, issue_id, now: 0)

# (user) -> the ids of the matters an account with no role sees because it is invited to a
# meeting that has them on its agenda (a cadre sent down), as a values() queryset, or None.
# The meetings app provides it; without it, such an account sees no matter.
guest_issue_ids = ExtensionPoint("issues.guest_issue_ids", default=lambda user: None)

# (user, issue read by ``queries.issue_page``, so with the ``issue_page_facts`` answered) ->
# what an issue's page shows of the volunteer work on the matter: a dict
# with "activities" (the activities working on it) and "plan_url" (where the user plans
# one, or None), or None when there is nothing to show. The volunteers app provides it.
volunteer_work = ExtensionPoint("issues.volunteer_work", default=lambda user, issue: None)

# () -> {name: expression}: what an app above needs to know about a matter before its part
# of the issue's page asks anything, annotated on the page's one statement of the issue
# (``queries.issue_page``), so that a part with nothing to show costs no statement. The
# volunteers app provides it; its ``volunteer_work`` reads the answers.
issue_page_facts = ExtensionPoint("issues.issue_page_facts", default=dict)
