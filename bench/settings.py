"""Settings for ``python -m bench``: production settings, measurable in-process.

The benchmark measures the app as it runs in production (``DEBUG`` off, so no
query log and no template debugging), with three changes that let the test
client reach the views in-process:

- ``testserver`` is an allowed host (the test client's host name);
- no HTTPS redirect (requests are made with ``secure=True`` anyway);
- plain static storage, so pages render without ``collectstatic``'s manifest.

``DATABASE_URL`` picks the database exactly as for the app.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "0123456789abcdef" * 3)
os.environ.setdefault("LOG_LEVEL", "WARNING")

from deliberation.settings import *  # noqa: F403
from deliberation.settings import ALLOWED_HOSTS, STORAGES

ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
SECURE_SSL_REDIRECT = False
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Benchmark accounts log in with force_login; a cheap hasher keeps setup fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
