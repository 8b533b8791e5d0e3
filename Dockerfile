# csbot image: Daphne serves HTTP + WebSockets; the same image runs Celery workers
# (`celery -A csbot worker -Q inference,default`) and beat (`celery -A csbot beat`).
# Build: docker build -t csbot .   Run: docker compose up (docker-compose.yml), or
# deploy/k8s/. How-to and production settings: docs/deployment.md.

# Browser libraries from the npm registry, pinned and checked by package-lock.json.
FROM node:22-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements.txt

FROM python:3.11-slim AS runtime
# libGL and GLib: OpenCV, which RapidOCR (pictures in chat) loads.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=csbot.settings \
    CSBOT_VAR_DIR=/app/var \
    DEBUG=0 \
    PORT=8000
RUN groupadd --system csbot && useradd --system --gid csbot --home /app csbot
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=csbot:csbot . .
COPY --from=assets --chown=csbot:csbot /assets/node_modules/chart.js/dist/chart.umd.min.js \
     /assets/node_modules/chart.js/LICENSE.md /app/static/vendor/chart.js/
# Static files are collected at build time with a throwaway key; WhiteNoise serves them.
RUN SECRET_KEY=build-only-$(python -c "import secrets; print(secrets.token_hex(32))") \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
 && mkdir -p /app/var && chown -R csbot:csbot /app/var
USER csbot
EXPOSE 8000
# Production ALLOWED_HOSTS rarely holds 127.0.0.1: ask for /healthz with the first
# allowed host name, over the proxy's "https" header, as the load balancer would.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), headers={'Host': h, 'X-Forwarded-Proto': 'https'}), timeout=2)"
CMD ["sh", "-c", "exec daphne -b 0.0.0.0 -p ${PORT} --proxy-headers csbot.asgi:application"]
