"""Settings for the test suite: the project's settings in debug mode.

pytest-django still runs every test with ``DEBUG = False``; debug mode here only
selects the developer defaults (console email, no HTTPS redirect, plain static
storage) that a test server needs.
"""

import os

os.environ.setdefault("DEBUG", "1")

from deliberation.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
