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
ENV FAILCAST_DATA_DIR=/data \
    FAILCAST_HOST=0.0.0.0 \
    FAILCAST_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["failcast", "api", "--forwarded-allow-ips", "*"]
