"""Settings, all set by environment variables.

DATABASE_URL       default: SQLite at $GRIDGOV_DATA_DIR/gridgov.sqlite3
REDIS_URL          default: none (huey on SQLite, local-memory cache)
DATABASE_REPLICA_URL default: none; a read replica for dashboards and reports (docs/deployment.md)
GRIDGOV_S3_BUCKET  default: none (photos and exports under GRIDGOV_DATA_DIR); with GRIDGOV_S3_ENDPOINT_URL,
                   GRIDGOV_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: an S3-compatible store
GRIDGOV_DATA_DIR   default: ./var
GRIDGOV_INTAKE     default: inline (a report is routed before it is acknowledged); deferred: acknowledged
                   once stored, routed by the worker just after (for a district's or a city's volume)
GRIDGOV_SECRET_KEY default: generated once into the key file ($GRIDGOV_KEY_FILE)
GRIDGOV_KEY_FILE   default: $GRIDGOV_DATA_DIR/secret.json (keep it apart from the database:
                   docs/deployment.md; `gridgov check --deploy` warns when it sits beside it)
GRIDGOV_FIELD_KEYS comma-separated Fernet keys for personal data; the first encrypts, all decrypt
GRIDGOV_INDEX_KEY  key of the blind index (keyed hash) used to search encrypted fields
GRIDGOV_GRID_LEVELS comma-separated level names below the street, default community,grid,microgrid
GRIDGOV_DEBUG      1 for development
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("GRIDGOV_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


KEY_FILE = Path(os.environ.get("GRIDGOV_KEY_FILE") or DATA_DIR / "secret.json").resolve()


def _local_secrets():
    """Development secrets, generated once and kept in the key file (in the data directory
    unless GRIDGOV_KEY_FILE says otherwise).

    Production sets GRIDGOV_SECRET_KEY, GRIDGOV_FIELD_KEYS and GRIDGOV_INDEX_KEY instead."""
    path = KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return json.loads(path.read_text())
    import base64

    data = {
        "secret_key": secrets.token_urlsafe(50),
        "field_keys": [base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()],
        "index_key": secrets.token_urlsafe(32),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return data


_need_local = not all(
    os.environ.get(k) for k in ("GRIDGOV_SECRET_KEY", "GRIDGOV_FIELD_KEYS", "GRIDGOV_INDEX_KEY")
)
_local = _local_secrets() if _need_local else {}
#: the keys read from KEY_FILE rather than the environment (core.checks warns when the file sits
#: beside the SQLite database: a copy of that directory would hold the data and its keys)
KEYS_FROM_FILE = [k for k in ("GRIDGOV_SECRET_KEY", "GRIDGOV_FIELD_KEYS", "GRIDGOV_INDEX_KEY") if not os.environ.get(k)]

SECRET_KEY = os.environ.get("GRIDGOV_SECRET_KEY") or _local["secret_key"]
FIELD_KEYS = [
    k.strip()
    for k in (os.environ.get("GRIDGOV_FIELD_KEYS") or ",".join(_local["field_keys"])).split(",")
    if k.strip()
]
INDEX_KEY = os.environ.get("GRIDGOV_INDEX_KEY") or _local["index_key"]

DEBUG = os.environ.get("GRIDGOV_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("GRIDGOV_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

# Levels below the street, in order. Huayang uses three, Zoucheng four.
GRID_LEVELS = [
    s.strip()
    for s in os.environ.get("GRIDGOV_GRID_LEVELS", "community,grid,microgrid").split(",")
    if s.strip()
]
# District code that leads every grid code (Fengtai, Beijing).
GRID_DISTRICT_CODE = os.environ.get("GRIDGOV_DISTRICT_CODE", "110106")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "ninja",  # serves the OpenAPI page's assets itself (no CDN)
    "gridgov.core",
    "gridgov.geo",
    "gridgov.accounts",
    "gridgov.registry",
    "gridgov.cases",
    "gridgov.hotline",
    "gridgov.open311",
    "gridgov.insight",
    "gridgov.volunteers",
    "gridgov.deliberation",
    "gridgov.property",
    "gridgov.gridwork",
    "gridgov.web",
    "gridgov.mobile",
    "gridgov.privacy",
    "gridgov.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # a password set by someone else, then a required second factor, come before anything else
    "gridgov.accounts.middleware.RequiredStepsMiddleware",
    "gridgov.core.middleware.PublicRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gridgov.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "gridgov.urls"
WSGI_APPLICATION = "gridgov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'gridgov.sqlite3'}",
        conn_max_age=int(os.environ.get("GRIDGOV_CONN_MAX_AGE", "60")),
        conn_health_checks=True,  # a connection dropped by a database restart is replaced, not used
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

# A read replica for dashboards and reports (gridgov.core.dbrouter): reads under replica_reads()
# go there; everything else, and every write, to default.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=DATABASES["default"]["CONN_MAX_AGE"], conn_health_checks=True)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["gridgov.core.dbrouter.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "gridgov.accounts.validators.LettersAndDigitsValidator"},
]

# Interface text is Chinese by default, with English. The source strings are Chinese, so zh-hans
# needs no catalogue; gridgov/locale/en holds the English one (docs/architecture.md).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# the language chosen with the header's switch (Django's set_language) is kept for a year
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # finished exports (registry.exporters.storage): without an "exports" entry, files under
    # $GRIDGOV_DATA_DIR/exports readable by the owner only
}
# Several machines: uploaded photos and finished exports in an S3-compatible object store
# (django-storages), private, served only through the pages that check who may see them.
S3_BUCKET = os.environ.get("GRIDGOV_S3_BUCKET", "")

# New reports through the API and Open311: routed in the request (inline), or stored and
# acknowledged, then routed by the worker (deferred; gridgov.cases.services.finish_intake)
INTAKE_DEFERRED = os.environ.get("GRIDGOV_INTAKE", "inline").strip().lower() == "deferred"
if S3_BUCKET:
    _S3 = {
        "bucket_name": S3_BUCKET,
        "endpoint_url": os.environ.get("GRIDGOV_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("GRIDGOV_S3_REGION") or None,
        "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
        "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
    }
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**_S3, "location": "media"}}
    STORAGES["exports"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**_S3, "location": "exports"}}
# Production serves the compressed copies `gridgov serve` collects into STATIC_ROOT; only
# development finds files in the apps directly.
WHITENOISE_USE_FINDERS = DEBUG

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "gridgov",
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "gridgov",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": os.environ.get("GRIDGOV_HUEY_IMMEDIATE", "") == "1",
    }

SESSION_COOKIE_HTTPONLY = True
# Staff sessions end after GRIDGOV_SESSION_AGE seconds without a request (default 2 hours)
# and when the browser closes.
SESSION_COOKIE_AGE = int(os.environ.get("GRIDGOV_SESSION_AGE", str(2 * 3600)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ENGINE = "gridgov.core.sessions"  # a lost database on saving is a 500, not a 400
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Behind a TLS-terminating proxy in production: GRIDGOV_HTTPS=1 turns on secure cookies,
# HTTPS redirects and HSTS (`gridgov check --deploy` is then clean).
HTTPS = os.environ.get("GRIDGOV_HTTPS", "") == "1"
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("GRIDGOV_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = os.environ.get("GRIDGOV_HSTS_PRELOAD", "1") == "1"
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("GRIDGOV_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# The client address for throttling comes from X-Forwarded-For only behind a trusted proxy.
TRUST_X_FORWARDED_FOR = os.environ.get("GRIDGOV_TRUST_X_FORWARDED_FOR", "") == "1"

# Content security policy: everything from this origin; map tiles from the configured hosts.
MAP_TILE_URL = os.environ.get("GRIDGOV_MAP_TILE_URL", "")
# coordinate system of the tiles: wgs84 (OpenStreetMap, Tianditu: CGCS2000) or gcj02 (AMap, Tencent)
MAP_TILE_CRS = os.environ.get("GRIDGOV_MAP_TILE_CRS", "wgs84")
CSP_IMG_HOSTS = [h for h in os.environ.get("GRIDGOV_CSP_IMG_HOSTS", "").split(",") if h]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GRIDGOV_LOG_LEVEL", "WARNING")},
}
