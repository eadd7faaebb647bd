"""What members' pages show that only apps above members know (see common.extensions)."""

from common.extensions import ExtensionPoint, KeyedExtensionPoint

# (user, community ids) -> {community id: figures of its follow-up reviews}, for the pages
# of residents and of a council member's councils. The issues app provides it.
review_figures = ExtensionPoint("members.review_figures")

# (user, community ids) -> ({community id: figures}, the figures of all of them together),
# for a street's page. The issues app provides it.
review_figures_with_total = ExtensionPoint("members.review_figures_with_total")

# A notice's kind -> (user, context) -> the path of the page the notice is about (a
# meeting, minutes to approve, a matter, …), raising Http404 when the user may no longer
# see it. The app that sends a kind provides it (members' own in its ready(), the issues
# and meetings apps theirs); the notices page and text messages link to it through
# members:notice_open. A context value the target needs and lacks raises KeyError.
notice_target = KeyedExtensionPoint("members.notice_target")

# (user) -> what the person's volunteering page offers them: None for anyone who is not a
# volunteer, else an object with ``url`` (their page) and ``minutes`` (their balance). The
# start page sends an account with no other role there, and a council member's pages show
# it as a tile. The volunteers app provides it; without it nobody is a volunteer.
volunteering = ExtensionPoint("members.volunteering", default=lambda user: None)
# (user) -> the path of the page an account starts from when no role of members gives it
# one (a cadre whose only role is a visiting team's work), or None. The visits app
# provides it.
start_page = ExtensionPoint("members.start_page", default=lambda user: None)
# (user) -> the path an account with no role starts from when it is invited to meetings as
# a guest (a cadre sent down), or None. The meetings app provides it.
guest_start_page = ExtensionPoint("members.guest_start_page", default=lambda user: None)
