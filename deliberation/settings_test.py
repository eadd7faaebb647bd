"""Settings for the test suite: the project's settings in debug mode.

pytest-django still runs every test with ``DEBUG = False``; debug mode here only
selects the developer defaults (console email, no HTTPS redirect, plain static
storage) that a test server needs. Tests use their own broker folder and queue,
so a demo running on the same machine never takes their messages.
"""

import os
from pathlib import Path

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("CELERY_QUEUE", "yishi-test")
os.environ.setdefault(
    "CELERY_FILESYSTEM_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test-broker")
)

from deliberation.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run in-process, except in the real workers and beats that tests start
# (tests/processes.py): there a task's own tasks go through the broker too.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=True)  # noqa: F405
SMS_BACKEND = os.environ.get("SMS_BACKEND", "common.sms.MemorySmsBackend")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

# One PostgreSQL test database per run too, so two runs on one server do not collide.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"  # noqa: F405
    }
