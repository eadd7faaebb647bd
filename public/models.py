from django.db import models


class SubmissionClaim(models.Model):
    """A drawn report form claimed in the database, while the cache cannot be reached.

    The unique key keeps a double tap from writing two reports even without Redis.
    """

    key = models.CharField(max_length=64, unique=True)
    tracking_code = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
