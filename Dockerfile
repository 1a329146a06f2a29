# Poruch in a container: `python -m bot run` (migrates first, then serves).
#   docker build -t poruch .
#   docker run --env-file .env -p 8080:8080 -v poruch-data:/app/data poruch
# The same image runs the other commands: `docker run … poruch python -m bot migrate`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

WORKDIR /app

# Dependencies first, from the lock: pinned versions whose sha256 hashes pip checks
# (it refuses anything else). A code change does not reinstall them.
COPY pyproject.toml README.md requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY bot ./bot
COPY dialogs ./dialogs
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales

# Editable, so the package finds its catalogs (locales/) and demo data beside the code.
# Catalogs are compiled here, as root: the running bot cannot write to /app.
RUN pip install --no-deps --no-build-isolation --editable . \
 && python -m bot.i18n_tools compile

# An unprivileged user owns only the data folder (the embedded SQLite database lives there).
# USER names it by number, which the host resolves even without this image's /etc/passwd.
RUN useradd --create-home --uid 10001 --user-group poruch \
 && mkdir -p /app/data \
 && chown poruch:poruch /app/data
USER 10001
VOLUME ["/app/data"]

EXPOSE 8080

# No curl in the slim image: Python's urllib asks /healthz (200 when the database answers).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]

CMD ["python", "-m", "bot", "run"]
