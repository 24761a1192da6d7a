# Yuyue: one image for web (gunicorn), worker and beat (celery). See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext: compiles the zh-hans and English message catalogues at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Build-time dummy environment: production settings refuse to load without these, but
# compilemessages and collectstatic touch neither the database nor Redis.
RUN export DJANGO_DEBUG=false \
        DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        YUYUE_SMS_BACKEND=http \
        DATABASE_URL=sqlite:////tmp/build.sqlite3 \
        REDIS_URL=redis://build.invalid:6379/0 \
        DJANGO_ALLOWED_HOSTS=localhost \
    && if find . -path "*/locale/*" -name "*.po" | grep -q .; then \
        python manage.py compilemessages; \
    fi \
    && python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --no-create-home --home-dir /app yuyue
USER yuyue

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn.py"]
