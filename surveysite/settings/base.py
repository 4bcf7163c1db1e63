from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_HASHES
from django.contrib.messages import constants as message_levels
from django.utils.translation import gettext_lazy as _

from . import environment as env

BASE_DIR: Path = env.BASE_DIR

SECRET_KEY = env.SECRET_KEY
DEBUG = env.DEBUG
ALLOWED_HOSTS = env.ALLOWED_HOSTS
CSRF_TRUSTED_ORIGINS = env.CSRF_TRUSTED_ORIGINS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "import_export",
    "ninja",  # the API's Swagger UI assets are served from the package, not a CDN
    # Before axes: its reset commands are replaced by audited ones (surveysite/management).
    "surveysite.apps.SiteConfig",
    "axes",
    "csp",
    "institutions",
    "reporting",
    "api",
    "analysis",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known: its 400 page is the site's, with the user's menu.
    "surveysite.middleware.NulCharacterRefusedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Inside the user and messages: the 405 page is the site's, with the user's menu.
    "surveysite.middleware.MethodNotAllowedPageMiddleware",
    "surveysite.sessions.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "surveysite.urls"
WSGI_APPLICATION = "surveysite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "institutions.context_processors.membership",
            ],
        },
    },
]

def database_settings(url: str, **options) -> dict:
    """The database `url` names, with the options its engine runs with here (test settings too)."""
    database = dj_database_url.parse(url, **options)
    # PostgreSQL: parameters bound by the server, and a query run twice on a connection prepared
    # there, so that PostgreSQL parses and plans each of the few dozen queries a page makes once
    # per connection instead of on every request (connections live CONN_MAX_AGE). bench/surge:
    # about 40% less PostgreSQL CPU per complete return. A pooler in transaction mode must keep
    # prepared statements per server connection (PgBouncer 1.21+, max_prepared_statements), or
    # DJANGO_DATABASE_PREPARED_STATEMENTS=0 turns this off.
    if database["ENGINE"] == "django.db.backends.postgresql" and env.DATABASE_PREPARED_STATEMENTS:
        database.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 2})
    # The embedded SQLite database (when DATABASE_URL is unset; docs/spreadsheets.md): write-ahead
    # logging lets pages read while a save or an import writes; with it, synchronous=NORMAL is safe
    # (a power cut may lose the last commits, never corrupt the file) and spares an fsync per save.
    # A 64 MB page cache keeps the answer and audit indexes of a large import in memory. IMMEDIATE
    # transactions take the write lock at BEGIN, so two writers queue (up to `timeout` seconds)
    # instead of one failing with "database is locked" halfway.
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("OPTIONS", {}).update({
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; "
                            "PRAGMA temp_store=MEMORY",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        })
    return database


DATABASES = {"default": database_settings(env.DATABASE_URL or env.SQLITE_DATABASE_URL, conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password hashing (README, "Production"): Argon2id at OWASP's recommended cost first; the
# others only verify older hashes, which are rewritten with the first at the next login.
PASSWORD_HASHERS = [
    "surveysite.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Messages carry Bootstrap's alert names (templates/base.html: alert-<level_tag>), so an error
# shows as one. An error keeps "error" as a second class too: the admin's stylesheet styles
# li.error, and would show a plain "danger" like a success.
MESSAGE_TAGS = {
    message_levels.DEBUG: "secondary",
    message_levels.INFO: "info",
    message_levels.SUCCESS: "success",
    message_levels.WARNING: "warning",
    message_levels.ERROR: "danger error",
}
# A refused form (expired session, a page left open) gets the site's page, not Django's.
CSRF_FAILURE_VIEW = "surveysite.views.csrf_failure"

# django-axes throttles failed logins (the site's form and the admin's) before the password is
# checked. Hospital staff share one address behind their NAT, so nothing is ever locked by
# address alone: an account is locked after AXES_FAILURE_LIMIT failures in a row, whichever
# address they come from. The (account, address) pair is there because axes' system check asks
# for the address in some parameter; with one limit the account-wide count is the one that trips.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked account before checking it
    # Survey data (institutions, reporting) is reached through a survey role, not Django
    # permissions; it checks passwords as Django's ModelBackend does.
    "institutions.backends.SurveyRoleBackend",
]
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# A login refused during the lock does not restart the cool-off: someone trying the right
# password at minute 14 gets in at minute 15, not at minute 29.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful login clears the account's failures, so mistypes do not add up over a day.
AXES_RESET_ON_SUCCESS = True
# The login page, in the site's layout and the user's language, with status 429.
AXES_LOCKOUT_CALLABLE = "surveysite.login_throttle.lockout_response"
# The account name as axes records it, cut to the length it can store (a longer one was a 500).
AXES_USERNAME_CALLABLE = "surveysite.login_throttle.throttled_username"
AXES_IPWARE_META_PRECEDENCE_ORDER = env.AXES_IPWARE_META_PRECEDENCE_ORDER
# The admin lists locks read-only and unlocks through an audited service
# (institutions/admin_login_throttle.py) instead of axes' own pages.
AXES_ENABLE_ADMIN = False

# Shared hospital computers: a session lasts at most a working day from the login
# (SESSION_COOKIE_AGE) and ends after SESSION_IDLE_TIMEOUT without a request or, on a page
# being filled in, without typing (static/js/session-keepalive.js); both are enforced by
# surveysite.sessions.SessionTimeoutMiddleware, and the cookie goes when the browser closes.
# A middleware rather than SESSION_SAVE_EVERY_REQUEST with a short age: that alone has no
# working-day limit, and writes the session on every request.
SESSION_COOKIE_AGE = 10 * 60 * 60
SESSION_IDLE_TIMEOUT = 30 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content Security Policy (django-csp): scripts and styles come only from the site's own static
# files; no inline <script>, <style>, style="..." or on...= in our pages. data: images are
# Bootstrap's SVG icons (navbar toggler, select arrows, close buttons) inlined in its CSS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # One exception, django-import-export's export page in the admin (a third-party template):
        # its "Select all" box has onchange="onSelectToggleChange(event)" and it has two style
        # attributes, "padding: 0;" and "font-weight: bold;". Exactly these are allowed, by hash;
        # any other handler or style attribute is still refused.
        "script-src-attr": [UNSAFE_HASHES, "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"],
        "style-src-attr": [
            UNSAFE_HASHES,
            "'sha256-mHgUAqxc8GPXM/QhzkHrHujcrQTU9fd6ZjWz+icxKcA='",
            "'sha256-+YWRMZ88jMyO7jVlBA52tZADiPobPIUA8LAWee68Fvs='",
        ],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Hospital staff read Chinese first; English is one click away.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.STATIC_ROOT
MEDIA_ROOT = env.MEDIA_ROOT
FILE_UPLOAD_TEMP_DIR = env.FILE_UPLOAD_TEMP_DIR


def survey_files_storage(backend: str) -> dict:
    """STORAGES["survey_files"]: where uploads awaiting confirmation and finished exports are
    kept, shared by every host (jobs/storage.py; README, "Several machines")."""
    if backend == "database":
        return {"BACKEND": "jobs.storage.DatabaseStorage"}
    if backend == "s3":  # needs `pip install django-storages[s3]`
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": env.SURVEY_FILES_S3_BUCKET,
            "endpoint_url": env.SURVEY_FILES_S3_ENDPOINT_URL or None,
            "region_name": env.SURVEY_FILES_S3_REGION or None,
            "location": "survey-files",
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        }}
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"SURVEY_FILES_BACKEND is '{backend}'; use 'database' or 's3'.")


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "survey_files": survey_files_storage(env.SURVEY_FILES_BACKEND),
}

# Shared by every host: Redis when DJANGO_CACHE_URL or REDIS_URL names one, otherwise a table
# of the database (created by migrate). Never a per-process memory cache.
if env.CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": env.CACHE_URL, "KEY_PREFIX": "surveysite"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}}
# Sessions are rows of the database, so a person logged in through one app host is logged in
# on every host. With Redis as the cache they are also read from it (written through to the
# database: a flushed or restarted Redis logs nobody out), which spares PostgreSQL a query on
# every request; the database cache would only add one.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if env.CACHE_URL else "django.contrib.sessions.backends.db"
)
# Failed-login counters and locks in the database too (django-axes' default handler, named).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

# Background jobs (jobs/): how long a job and its file are kept, how often a job is run again
# after its worker died, and when one nobody runs any more is given up.
BACKGROUND_JOB_LIFETIME = timedelta(days=1)
# Jobs whose files only society admins may fetch, even the admin who started one once they lose the role.
BACKGROUND_JOB_ADMIN_ONLY_KINDS = ("returns_export", "audit_export")
BACKGROUND_JOB_MAX_ATTEMPTS = 3
BACKGROUND_JOB_STALLED_AFTER = timedelta(hours=2)
# The longest a background task may run. Measured on the 2-core build machine: an upload
# of 20,000 returns 190-200 s, so one at the 50 MB limit (about 150,000 returns) some 25
# minutes; an XLSX export of 100,000 returns about 4 minutes; a rebuild of the figures of
# 100,000 returns under 10 s (docs/spreadsheets.md, docs/report.md). The national edition
# has 1,237 returns: its import takes about 11 s.
BACKGROUND_TASK_LONGEST = timedelta(minutes=30)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# The full return has 123 items plus warning explanations and management fields.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

CELERY_BROKER_URL = env.CELERY_BROKER_URL or None
# Commands such as `aggregate` wait for their task's result: keep results on Redis when the
# broker is Redis, otherwise send them back over the broker (RabbitMQ's rpc backend).
CELERY_RESULT_BACKEND = env.CELERY_RESULT_BACKEND or (
    (env.CELERY_BROKER_URL if env.CELERY_BROKER_URL.startswith("redis") else "rpc://")
    if env.CELERY_BROKER_URL
    else None
)
# Without a broker every task runs in the calling process, so the app needs no server.
CELERY_TASK_ALWAYS_EAGER = not env.CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A request that queues a task must not hang when the broker is down or stops answering:
# give up within seconds (the caller logs it; see reporting/tasks/queueing.py). Redis waits
# forever by default.
# visibility_timeout (Redis only): a task is acknowledged when it ends (ACKS_LATE), and Redis
# hands a job that has gone unacknowledged that long to another worker, whether its worker
# died (then the job runs again: that is the wait) or is still running it (then a second
# worker starts it too: the edition lock and the jobs' advisory lock keep the data right, but
# the second run holds a worker until the first ends). So it must be longer than the longest
# task (BACKGROUND_TASK_LONGEST) and any countdown (a busy job retries after 30 s), and
# shorter than BACKGROUND_JOB_STALLED_AFTER. RabbitMQ redelivers when the connection drops.
# `check --deploy` warns when it is not (surveysite/checks.py).
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
    "visibility_timeout": env.CELERY_VISIBILITY_TIMEOUT,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# The Redis result backend (only `manage.py aggregate` waits for a result) retries 20 times.
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Periodic tasks, sent by exactly one `celery -A surveysite beat` (README, "Several machines").
CELERY_BEAT_SCHEDULE = {
    "jobs-sweep": {"task": "jobs.sweep", "schedule": 15 * 60},
}

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env.EMAIL_URL_HOST or "localhost"
EMAIL_PORT = env.EMAIL_PORT
EMAIL_HOST_USER = env.EMAIL_HOST_USER
EMAIL_HOST_PASSWORD = env.EMAIL_HOST_PASSWORD
EMAIL_USE_TLS = env.EMAIL_USE_TLS
DEFAULT_FROM_EMAIL = env.DEFAULT_FROM_EMAIL

# The admin's imports and exports need their own permission (<app>.import_<model>,
# <app>.export_<model>), which for survey data only the society admin role gives.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# The web API (docs/api.md). Counters live in the default cache (Redis when several hosts serve).
API_TOKEN_MAX_DAYS = 365
API_RATE_LIMIT = 600  # requests per token per window
API_RATE_WINDOW_SECONDS = 60
API_AUTH_FAILURE_LIMIT = 30  # failed authentications per client address per window
API_AUTH_FAILURE_WINDOW_SECONDS = 600
API_PAGE_SIZE_DEFAULT = 100
API_PAGE_SIZE_MAX = 1000
API_PUSH_MAX_RETURNS = 500
API_EXPORT_JOBS_ACTIVE_MAX = 3  # a person's exports waiting or running at once (api/endpoints/exports.py)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.LOG_LEVEL},
}
