"""What an issue's page shows that only apps above issues know (see common.extensions)."""

from common.extensions import ExtensionPoint

# (user, issue) -> the form that convenes an urgent meeting about the issue, or None when
# the user may not convene one for it. The meetings app provides it; without it, no form.
convene_form = ExtensionPoint("issues.convene_form", default=lambda user, issue: None)
