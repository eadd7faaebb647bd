"""Settings for the gunicorn that ``python -m bench.http`` starts: the settings of the
process that started it (``YISHI_BENCH_BASE_SETTINGS``, ``bench.settings`` by default),
with the URLconf that adds the floor view beside the app's own URLs (bench/http_urls.py).

Only the benchmark's gunicorn loads this module; the app's URLs never hold the floor view.
"""

import importlib
import os

_base = importlib.import_module(os.environ.get("YISHI_BENCH_BASE_SETTINGS", "bench.settings"))
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

ROOT_URLCONF = "bench.http_urls"
