"""The one kind of error a view shows to the person as it is."""


class Refusal(Exception):
    """A request the domain refuses; the message says why, in the user's language.

    Every app's action errors derive from it, so the shared answers in ``common.flows``
    tell a refusal (shown, nothing written) from a bug (a 500) without knowing the app.
    """
