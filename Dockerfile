# One image for every Failcast process: `failcast api`, `failcast worker`, `failcast scheduler`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
    && useradd --create-home --uid 10001 failcast \
    && mkdir -p /data && chown failcast /data

USER failcast
# Production by default: the server refuses to start without FAILCAST_SECRET_KEY (and with
# other unsafe settings) instead of signing tokens with a key anyone could know.
ENV FAILCAST_ENV=production \
    FAILCAST_DATA_DIR=/data \
    FAILCAST_HOST=0.0.0.0 \
    FAILCAST_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
# X-Forwarded-For is believed only from FAILCAST_FORWARDED_ALLOW_IPS (the reverse proxy);
# set it to the proxy's address or network.
CMD ["failcast", "api"]
