FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WATCHER_CONFIG=/config/watcher.toml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 watcher \
    && mkdir -p /data /config && chown watcher /data

USER watcher
VOLUME ["/data"]
# In the mounted config, set: database = "/data/watcher.db"
CMD ["watcher", "run"]
