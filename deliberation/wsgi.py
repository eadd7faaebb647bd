import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deliberation.settings")

application = get_wsgi_application()

from deliberation.startup import settle_worker  # noqa: E402 - needs the app loaded

settle_worker()
