"""Writes to issues: the only place an issue's state changes.

Each action is atomic, writes a timeline event (who, when, what, why) through
``issues.events``, and schedules notices after commit. Actions that change an issue take
the ``expected_version`` the user's form was drawn from, so a stale form is refused
instead of silently overwriting someone else's change; the refusals
(``IssueActionError``, ``StaleIssue``) live in ``issues.events``.

One module per topic; import the module and call through it
(``from issues.actions import escalations`` then ``escalations.issue_escalate(...)``):

- ``intake``: reporting a matter from any channel, correcting it, comments and photos;
- ``handling``: status changes, assignment and deliberation, and the follow-up reviews
  a resolve, reopen or close books, calls off or closes;
- ``escalations``: sending a matter up a tier, and the street office's and
  departments' answers to an escalation;
- ``member_tasks``: a council member's own task on a matter the council solves itself:
  progress with photos, reporting it done, and its confirmation or return;
- ``upkeep``: a street's categories, erasing old contact details, overdue reminders;
- ``base``: helpers the topics share (storing a photo, booking a follow-up review).
"""
