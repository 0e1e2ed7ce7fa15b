# syntax=docker/dockerfile:1
# admin-gateway: gunicorn + the gateway, as an unprivileged user, no compilers.
#   docker build -t admin-gateway .
#   docker run --env-file gateway.env -p 8000:8000 admin-gateway
# Settings come from the environment (README, "Settings"); secrets from your
# orchestrator's secret store, never baked into the image.

# --- build: wheels for the project and every dependency ---------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY config ./config
COPY emulator ./emulator
COPY devtools ./devtools
RUN pip wheel --wheel-dir /wheels .

# --- runtime: the wheels installed, nothing else ------------------------------
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="admin-gateway" \
      org.opencontainers.image.description="Least-privilege facade over the Auth0 Management API v2"
# /dev/shm is a tmpfs in every container; gunicorn.conf.py empties the metrics dir at start.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/dev/shm/admin-gateway-metrics
RUN useradd --system --uid 10001 --gid 0 --no-create-home --home-dir /srv \
        --shell /usr/sbin/nologin gateway
WORKDIR /srv
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/admin_gateway-*.whl
COPY wsgi.py ./
COPY config/gunicorn.conf.py ./config/gunicorn.conf.py
# Numeric, so that `runAsNonRoot` policies can verify it without /etc/passwd.
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# gunicorn is PID 1: SIGTERM from the orchestrator starts its graceful shutdown
# (GUNICORN_GRACEFUL_TIMEOUT); keep the orchestrator's grace period longer.
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "wsgi:app"]
