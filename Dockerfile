# csbot image: Daphne serves HTTP + WebSockets; the same image runs Celery
# workers (`celery -A csbot worker -Q inference,default`) and beat.
# Build: docker build -t csbot .   Run: see README "Deployment".

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements.txt

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=csbot.settings \
    CSBOT_VAR_DIR=/app/var \
    PORT=8000
RUN groupadd --system csbot && useradd --system --gid csbot --home /app csbot
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=csbot:csbot . .
# Static files are collected at build time with a throwaway key; WhiteNoise serves them.
RUN DEBUG=0 SECRET_KEY=build-only-$(python -c "import secrets; print(secrets.token_hex(32))") \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
 && mkdir -p /app/var && chown -R csbot:csbot /app/var
USER csbot
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"
CMD ["sh", "-c", "exec daphne -b 0.0.0.0 -p ${PORT} --proxy-headers csbot.asgi:application"]
