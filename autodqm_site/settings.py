"""Django settings for AutoDQM site, read only from environment variables.

The ADQM_* variables keep the meanings they had in the historical AutoDQM
tool: ADQM_CONFIG (folder of subsystem JSON configs), ADQM_DB (where DQM ROOT
files are kept), ADQM_TMP (generated PNG/PDF/TXT), ADQM_SSLCERT, ADQM_SSLKEY,
ADQM_CACERT (grid certificate, key and CA bundle for the DQM file server).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from autodqm_site.env import env_bool, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("ADQM_VAR", BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not env_bool("ADQM_INSECURE_DEV_KEY", True):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set")
    # A fixed key is only acceptable for a local, single-user setup; the
    # Dockerfile and docker-compose.yml always set DJANGO_SECRET_KEY.
    SECRET_KEY = "autodqm-site-local-development-key-not-for-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "runs",
    "comparisons",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "autodqm_site.urls"
WSGI_APPLICATION = "autodqm_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if "DATABASE_URL" not in os.environ:
    # The embedded default keeps its SQLite file here.
    VAR_DIR.mkdir(parents=True, exist_ok=True)

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'autodqm.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the django-q worker write to one SQLite file; wait
    # for the other writer instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("ADQM_STATIC_ROOT", VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# AutoDQM's own variables.
ADQM_CONFIG = env_str("ADQM_CONFIG")
ADQM_DB = env_path("ADQM_DB", VAR_DIR / "dqm")
ADQM_TMP = env_path("ADQM_TMP", VAR_DIR / "artifacts")
ADQM_SSLCERT = env_str("ADQM_SSLCERT", f"/tmp/x509up_u{os.getuid()}")
ADQM_SSLKEY = env_str("ADQM_SSLKEY", ADQM_SSLCERT)
ADQM_CACERT = env_str("ADQM_CACERT")
ADQM_DQM_URL = env_str("ADQM_DQM_URL")
# DQM file server client: time-outs and back-off in seconds, listing cache
# lifetime in seconds, parallel downloads per machine.
ADQM_DQM_CONNECT_TIMEOUT = env_float("ADQM_DQM_CONNECT_TIMEOUT", 10.0)
ADQM_DQM_READ_TIMEOUT = env_float("ADQM_DQM_READ_TIMEOUT", 60.0)
ADQM_DQM_RETRIES = env_int("ADQM_DQM_RETRIES", 3)
ADQM_DQM_BACKOFF = env_float("ADQM_DQM_BACKOFF", 1.0)
ADQM_DQM_LISTING_TTL = env_float("ADQM_DQM_LISTING_TTL", 600.0)
ADQM_DQM_MAX_DOWNLOADS = env_int("ADQM_DQM_MAX_DOWNLOADS", 2)
ADQM_FIXTURES = BASE_DIR / "fixtures"

# django-q2: the ORM broker by default, Redis when ADQM_BROKER_URL is set.
ADQM_BROKER_URL = env_str("ADQM_BROKER_URL")
Q_CLUSTER = {
    "name": "autodqm",
    "workers": env_int("ADQM_WORKERS", 2),
    "timeout": env_int("ADQM_TASK_TIMEOUT", 3600),
    "retry": env_int("ADQM_TASK_TIMEOUT", 3600) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "label": "Task queue",
    "sync": env_bool("ADQM_SYNC_TASKS", False),
}
if ADQM_BROKER_URL:
    Q_CLUSTER["redis"] = ADQM_BROKER_URL
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ADQM_LOG_LEVEL", "INFO")},
    "loggers": {"matplotlib": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# Address of the site, used in links that commands print.
ADQM_SITE_URL = env_str("ADQM_SITE_URL", "http://127.0.0.1:8000")
