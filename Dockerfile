# AutoDQM site: one image for the web server (gunicorn + whitenoise) and the
# django-q worker (`python manage.py qcluster`); docker-compose.yml runs both.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ADQM_VAR=/var/lib/autodqm \
    ADQM_DB=/var/lib/autodqm/dqm \
    ADQM_TMP=/var/lib/autodqm/artifacts \
    ADQM_STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --home /var/lib/autodqm autodqm \
    && mkdir -p /var/lib/autodqm/dqm /var/lib/autodqm/artifacts \
    && chown -R autodqm /var/lib/autodqm

USER autodqm
EXPOSE 8000
CMD ["gunicorn", "autodqm_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
