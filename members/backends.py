"""The session's user read with its unread notice count, in one statement.

Every page shows the unread count in its header; read with the user (a subquery) it
costs no statement of its own. ``members.queries.unread_count`` uses it, and the actions
that mark notices read forget it, so a page drawn after them counts again.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from members.models import User
from members.queries import UNREAD_AT_LOAD, unread_subquery


class UserWithUnreadCountBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = User._default_manager.annotate(**{UNREAD_AT_LOAD: unread_subquery()}).get(
                pk=user_id
            )
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
