# Example image for Juhui (see docs/deploy.md §11). Not built by CI; a starting point.
FROM python:3.11-slim

# gunicorn reads its worker count from WEB_CONCURRENCY: 2 × cores + 1 (docs/deploy.md §5).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=3 \
    LOG_FORMAT=json

WORKDIR /app
COPY . .
RUN pip install -e . \
    && pybabel compile -d planner/translations \
    && useradd --system --home-dir /app juhui \
    && mkdir -p /app/instance \
    && chown juhui:juhui /app/instance

USER juhui
EXPOSE 8000

# Liveness: the process answers (no database involved). Readiness is /readyz.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"

CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", \
     "--threads", "4", "--timeout", "30", "--max-requests", "2000", "--max-requests-jitter", "200"]
