# watcher as a container: `watcher run` as a non-root user, state on the /data volume.
#   docker build -t watcher .
#   docker run -d --name watcher -v "$PWD/watcher.toml:/config/watcher.toml:ro" \
#       -v watcher-data:/data -p 127.0.0.1:8787:8787 watcher
# The mounted config sets  database = "/data/watcher.db"  and, for the HEALTHCHECK and for
# Prometheus,  [http] listen = "0.0.0.0:8787"  (inside the container only; publish the port
# on the host's loopback as above unless something else must scrape it).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHER_CONFIG=/config/watcher.toml \
    WATCHER_HEALTH_URL=http://127.0.0.1:8787/healthz

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY watcher ./watcher
# The dependency versions the test suite last passed with, not whatever is newest today.
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home --uid 10001 watcher \
    && mkdir -p /data /config && chown watcher /data

USER watcher
VOLUME ["/data"]
EXPOSE 8787
# No curl in a slim image: Python's own urllib, no proxy, non-2xx (503) or no answer = unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open(os.environ['WATCHER_HEALTH_URL'], timeout=4)"]
# SIGTERM: watcher finishes or abandons in-flight polls and exits 0 well within docker's 10 s.
STOPSIGNAL SIGTERM
CMD ["watcher", "run"]
