"""Writes to meetings: the only place a meeting, its agenda, its notices or its minutes change.

One module per topic; import the module and call through it
(``from deliberation.actions import agenda`` then ``agenda.agenda_item_remove(...)``):

- ``materialise``: the meetings of every schedule and their agendas, ahead of time
  (its statements in ``materialise_sql``);
- ``notices``: notices, reminders and cancellations sent to council members;
- ``running``: signing in and recording decisions, carried out on the issues;
- ``review_items``: follow-up review items on the next meeting's agenda;
- ``schedules``: a council's schedules and the meetings that follow from them;
- ``urgent``: convening an urgent meeting about one issue;
- ``agenda``: editing an agenda by hand;
- ``closing``: closing a meeting once held, or cancelling it;
- ``calendars``: the calendar feeds a council or a member subscribes to, made when
  asked for and reset when leaked;
- ``minutes``: drafting, editing, approving and correcting a meeting's minutes (their
  text composed by ``deliberation.minutes_text``);
- ``base``: ``ActionError``, which every refusal raises, and shared helpers.
"""
