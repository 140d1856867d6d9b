# The loyalty platform's image: web (gunicorn), Celery worker and beat all run from it.
# Build: docker compose build   (see docker-compose.yml for the services and their settings)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, read from pyproject.toml, so code changes do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself. An editable install keeps BASE_DIR at /app, where templates/ and
# static/ live (a plain install would move the packages away from them).
COPY . .
RUN pip install --no-deps -e .

# Static files for whitenoise, built with production settings (DEBUG off, so the manifest
# storage is used). The secret key only lives for this command and is not kept in the image.
RUN DJANGO_DEBUG=0 \
    DJANGO_ALLOWED_HOSTS=localhost \
    EMAIL_URL=smtp://127.0.0.1:9 \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --home-dir /app --no-create-home app \
    && mkdir -p /app/var/media /app/var/prometheus \
    && chown -R app:app /app/var
USER app

EXPOSE 8000
# gunicorn.conf.py: access log without query strings (phones, emails), masked and JSON,
# with the request id; Prometheus multiprocess metrics.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "loyalty.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
