# Yishi production image. One image runs every role (see docker-compose.yml):
#   web      gunicorn (the default CMD)
#   migrate  python manage.py migrate --noinput
#   worker   celery -A deliberation worker -Q yishi,yishi.sweep
#   beat     celery -A deliberation beat
# Build: docker build -t yishi .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=deliberation.settings \
    YISHI_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media

# WeasyPrint renders the minutes' PDFs: it lays text out with Pango, sets the
# Chinese in Noto CJK, and embeds only the glyphs used through HarfBuzz's
# subsetter (its fallback, fontTools, took 12.7 s instead of 0.3 s for one page).
# Emoji and the rare characters of names the CJK fonts lack fall back to Noto Color
# Emoji and Hanazono rather than print as empty boxes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
        fonts-noto-color-emoji fonts-hanazono \
 && rm -rf /var/lib/apt/lists/*

# The uv that uv.lock is kept with.
RUN pip install uv==0.13.9

RUN groupadd --system --gid 10001 yishi \
 && useradd --system --uid 10001 --gid yishi --create-home --home-dir /home/yishi \
        --shell /usr/sbin/nologin yishi

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. The project
# itself is not a package ([tool.uv] package = false): nothing to build.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

COPY . .

# Static files are baked into the image, root-owned. DEBUG=0 selects the storage the
# app serves with (whitenoise's compressed manifest: without its staticfiles.json every
# page would fail), and settings refuse DEBUG=0 without a SECRET_KEY, so this RUN alone
# gets a throwaway key: inline, not ENV or ARG, so it never reaches the image's
# environment. YISHI_VAR_DIR points at a scratch directory so that settings' import-time
# directories (var/, the filesystem broker) are not left behind owned by root.
RUN DEBUG=0 SECRET_KEY=build-only-dummy-secret-key-never-used-at-runtime-0123456789 \
    YISHI_VAR_DIR=/tmp/yishi-build \
    python manage.py collectstatic --noinput \
 && rm -rf /tmp/yishi-build

# The only places the app user may write. Named volumes mounted on /data/media and
# /data/beat start out as a copy of these directories, ownership included.
RUN mkdir -p /app/var /data/media /data/beat \
 && chown yishi:yishi /app/var /data/media /data/beat

USER yishi:yishi

EXPOSE 8000

# Workers: gunicorn reads WEB_CONCURRENCY (set in docker-compose.yml). The access log
# names the client the proxy saw (X-Forwarded-For, overwritten by deploy/nginx.conf)
# before the connecting address, which behind the proxy is the proxy's own.
CMD ["gunicorn", "deliberation.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--access-logformat", "%({x-forwarded-for}i)s via %(h)s %(t)s \"%(r)s\" %(s)s %(b)s %(M)sms \"%(a)s\""]
