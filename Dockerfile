# calproxy's image: installed exactly as uv.lock says (runtime dependencies only, no test or plot extras) and
# run as an unprivileged user. Not built on the development machines (no Docker engine there);
# tests/deploy/test_dockerfile.py checks its properties.
#   docker build -t calproxy .
#   docker run --rm -p 127.0.0.1:8080:8080 --env-file .env -e REDIS_URL=redis://… calproxy
# It listens on 0.0.0.0 inside the container, on PORT (or CALPROXY_PORT; 8080 when neither is set).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv at /app/.venv with calproxy and its locked dependencies ----
FROM ${PYTHON_IMAGE} AS build
# The same uv as scripts/setup.sh, from PyPI.
RUN pip install --no-cache-dir uv==0.13.9
# Compile bytecode now (the runtime user cannot write it); copy, since the cache is not kept; never fetch a Python.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first, in a layer of their own that only a change of the lock rebuilds.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --no-editable
# Then calproxy itself, as a regular (non-editable) install, so the sources need not follow into the image.
COPY README.md ./
COPY holds holds
COPY proxy proxy
RUN uv sync --frozen --no-dev --no-editable

# ---- runtime: the same Python image, the virtualenv, nothing else ----
FROM ${PYTHON_IMAGE} AS runtime
# A numeric user, so that a platform can tell it is not root without reading /etc/passwd (runAsNonRoot).
RUN groupadd --system --gid 10001 calproxy \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin calproxy
COPY --from=build /app/.venv /app/.venv
# CALPROXY_HOST: reachable from outside the container. No port here: PORT or CALPROXY_PORT picks it at run time.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CALPROXY_HOST=0.0.0.0
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# /readyz: 200 when Redis and Cal.com answer. Same port rule as calproxy's settings; the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('CALPROXY_PORT') or os.environ.get('PORT') or '8080'; urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4)"]
CMD ["calproxy", "serve"]
