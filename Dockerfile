# carerounds: the API, web page and job worker in one image.
#   docker build -t carerounds .
#   docker run -p 8000:8000 -v carerounds-var:/srv/var carerounds
# SQLite under /srv/var by default; set CAREROUNDS_DATABASE_URL for PostgreSQL, and
# CAREROUNDS_ENVIRONMENT=production with a real CAREROUNDS_SECRET_KEY in production.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CAREROUNDS_WORK_DIR=/srv/var \
    CAREROUNDS_DATABASE_URL=sqlite:////srv/var/carerounds.sqlite

WORKDIR /srv/app
COPY pyproject.toml README.md ./
COPY app ./app
COPY data ./data
COPY geo ./geo
COPY solver ./solver
RUN pip install . \
    && useradd --system --home /srv --uid 10001 carerounds \
    && mkdir -p /srv/var \
    && chown carerounds /srv/var

USER carerounds
WORKDIR /srv
VOLUME ["/srv/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health')"
CMD ["carerounds", "serve", "--host", "0.0.0.0"]
