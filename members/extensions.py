"""What members' pages show that only apps above members know (see common.extensions)."""

from common.extensions import ExtensionPoint

# (user, community ids) -> {community id: figures of its follow-up reviews}, for the pages
# of residents and of a council member's councils. The issues app provides it.
review_figures = ExtensionPoint("members.review_figures")

# (user, community ids) -> ({community id: figures}, the figures of all of them together),
# for a street's page. The issues app provides it.
review_figures_with_total = ExtensionPoint("members.review_figures_with_total")
