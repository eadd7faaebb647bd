"""Why the volunteers app refuses a request, in the user's language."""

from common.refusals import Refusal


class VolunteerRefusal(Refusal):
    """A team, activity or service-hours request the rules refuse; nothing was written."""
