"""Writes of the visits app, one module per topic: ``teams`` (teams, members, pairings),
``rounds`` (the quarter's round and its targets, reminders), ``visiting`` (a visit and
the matters its concerns become)."""

from common.refusals import Refusal


class VisitsRefusal(Refusal):
    """A change to teams, rounds or visits the rules refuse; nothing was written."""
