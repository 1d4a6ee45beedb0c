"""Salon Vault settings: everything comes from the environment, with embedded defaults.

The embedded defaults (SQLite for both databases, a keyring file under ``var/``, Celery
on a filesystem broker) are what ``make run`` uses on a fresh machine. Production sets
``DATABASE_URL``, ``VAULT_DATABASE_URL``, ``REDIS_URL``, ``SALON_VAULT_KEYRING`` and
``SECRET_KEY`` instead.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SALON_VAULT_VAR", BASE_DIR / "var"))


def envstr(name: str, default: str | None = None) -> str | None:
    """A string from NAME, or from the file named by NAME_FILE (mounted secrets)."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, not {raw!r}")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key() -> str:
    # The embedded default keeps a generated key beside the local data, never in code.
    # It signs sessions only; no data key is ever derived from it.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "csp",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "vault",
    "audit",
    "access",
    "records",
    "rights",
    "transfer",
    "lifecycle",
]

MIDDLEWARE = [
    "audit.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files answer before any below
    "salon_vault.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "access.middleware.SessionGuardMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "access.backends.StaffBackend",  # Django's ModelBackend, with the staff profile
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None

# Login hardening (django-axes): lock a username from one address after repeated failures.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "access.auth_views.locked_out"
AXES_VERBOSE = False
# Two-factor (django-otp): TOTP required for these roles before anything else opens:
# every role that can read health data, and the auditor.
OTP_REQUIRED_ROLES = envlist("OTP_REQUIRED_ROLES", "owner,manager,stylist,beautician,auditor")
# Invitation and reset links: single use, valid this many hours.
INVITATION_HOURS = envint("INVITATION_HOURS", 72)
OTP_TOTP_ISSUER = "Salon Vault"
# Sessions: idle timeout and absolute lifetime, and how recent a re-authentication must be.
SESSION_IDLE_SECONDS = envint("SESSION_IDLE_SECONDS", 15 * 60)
SESSION_ABSOLUTE_SECONDS = envint("SESSION_ABSOLUTE_SECONDS", 10 * 3600)
REAUTH_SECONDS = envint("REAUTH_SECONDS", 5 * 60)
BREAK_GLASS_MINUTES = envint("BREAK_GLASS_MINUTES", 30)
ACCESS_REVIEW_DEADLINE_DAYS = envint("ACCESS_REVIEW_DEADLINE_DAYS", 14)

ROOT_URLCONF = "salon_vault.urls"
WSGI_APPLICATION = "salon_vault.wsgi.application"

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
                "access.context_processors.staff",
            ],
        },
    },
]

# Two databases: `default` holds the records (ciphertext and blind indexes only);
# `vault` holds the wrapped data keys. They are separate so that a dump of one is
# useless without the other and the keyring.
DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'salon_vault.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
    ),
    "vault": dj_database_url.parse(
        envstr("VAULT_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'vault_keys.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
    ),
}


def _private_sqlite_file(name: str) -> None:
    # SQLite creates its file (and the -wal/-shm beside it, with the same mode) world-
    # readable under the usual umask; make it owner-only before the first connection.
    if name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)


for _db in DATABASES.values():
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _private_sqlite_file(str(_db["NAME"]))
        _db["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE",
                          "init_command": "PRAGMA journal_mode=WAL;"}
DATABASE_ROUTERS = ["vault.routers.VaultRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SALON_VAULT_KEYRING = envstr("SALON_VAULT_KEYRING") or str(VAR_DIR / "keyring.json")

REDIS_URL = envstr("REDIS_URL") or ""
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
    # Sessions are read from Redis on every request and kept in the database too. Not
    # with the embedded default: a per-process cache would miss a session ended in
    # another process (access.sessions.end_all ends them through the engine).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # each role lands on its own page (access.auth_views.home)
LOGOUT_REDIRECT_URL = "login"
# Mail carries invitation and reset links when EMAIL_HOST is set; otherwise the owner
# hands the link over (copied, or as a QR code).
EMAIL_HOST = envstr("EMAIL_HOST") or ""
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL") or "salon-vault@localhost"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = envint("SESSION_ABSOLUTE_SECONDS", 10 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS: everything on whenever DEBUG is off. `make run` serves plain HTTP on the loopback
# address and says SALON_VAULT_HTTPS=false; behind a TLS-terminating proxy, name the header
# it sets (TRUSTED_PROXY_HEADER=X-Forwarded-Proto) and strip that header from clients there.
HTTPS = envbool("SALON_VAULT_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", HTTPS)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", SESSION_COOKIE_SECURE)
if _proxy_header := envstr("TRUSTED_PROXY_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
# How many proxies in front append to X-Forwarded-For: the audit log and the lockout then
# take the client's address from the entry the nearest trusted proxy wrote, never from
# what the client itself sent. 0: the connection's own address (no proxy).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
# Content-Security-Policy: scripts and styles from this site's static files only; no
# inline script or handler attribute runs. Style *attributes* (not <style> elements) stay
# allowed because the audit charts' bar lengths are data set in them; an attribute cannot
# run code, and img-src keeps a url() in one from reaching another site.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves collectstatic's output (`make run` runs it): hashed names cached for a
# year, compressed copies made once at collectstatic (salon_vault/storage.py).
BACKUP_DIR = Path(envstr("BACKUP_DIR") or VAR_DIR / "backups")
# Signed certificates of destroyed clients (records/destruction.py), one JSON file each.
DESTRUCTION_CERTIFICATE_DIR = Path(envstr("DESTRUCTION_CERTIFICATE_DIR")
                                   or VAR_DIR / "certificates")
# Backups kept: the newest of each of the last N days, weeks and months (lifecycle/backups).
BACKUP_KEEP_DAILY = envint("BACKUP_KEEP_DAILY", 7)
BACKUP_KEEP_WEEKLY = envint("BACKUP_KEEP_WEEKLY", 4)
BACKUP_KEEP_MONTHLY = envint("BACKUP_KEEP_MONTHLY", 12)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "salon_vault.storage.StaticFilesStorage"},
    # Backups (lifecycle/backups): a folder by default; BACKUP_STORAGE_BACKEND names another
    # storage, e.g. storages.backends.s3.S3Storage from django-storages, with its options
    # as JSON in BACKUP_STORAGE_OPTIONS (or _FILE): bucket_name, endpoint_url, access_key,
    # secret_key...
    "backups": {"BACKEND": envstr("BACKUP_STORAGE_BACKEND"),
                "OPTIONS": json.loads(envstr("BACKUP_STORAGE_OPTIONS") or "{}")}
    if envstr("BACKUP_STORAGE_BACKEND") else
    {"BACKEND": "django.core.files.storage.FileSystemStorage",
     "OPTIONS": {"location": str(BACKUP_DIR), "file_permissions_mode": 0o600,
                 "directory_permissions_mode": 0o700}},
}

# Encrypted photos and forms live here as opaque blobs with random names. No URL serves
# this folder: files reach a browser only through the audited views in `records`.
VAULT_FILES_ROOT = Path(os.environ.get("VAULT_FILES_ROOT", VAR_DIR / "vault-files"))
MEDIA_ROOT = VAR_DIR / "media"
PHOTO_MAX_BYTES = envint("PHOTO_MAX_BYTES", 15 * 1024 * 1024)
FORM_MAX_BYTES = envint("FORM_MAX_BYTES", 15 * 1024 * 1024)
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024

# Celery: Redis when REDIS_URL is set, else a filesystem broker that needs nothing else.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
# django-celery-beat's tables hold the schedule; owners edit it on the jobs page, and the
# entries below are only defaults for the ones missing there (lifecycle/schedule.py).
CELERY_BEAT_SCHEDULER = "lifecycle.schedule:Scheduler"
# Clients' rights: days to answer a request (PIPL: without delay; 15 by default) or a
# complaint, how long a client's page link lasts, and where copies wait for download.
RIGHTS_DUE_DAYS = envint("RIGHTS_DUE_DAYS", 15)
COMPLAINT_DUE_DAYS = envint("COMPLAINT_DUE_DAYS", 15)
CLIENT_LINK_DAYS = envint("CLIENT_LINK_DAYS", 30)
RIGHTS_COPY_DIR = Path(envstr("RIGHTS_COPY_DIR") or VAR_DIR / "copies")
# The sale of the business: where sealed packages wait for their one download, how long,
# and the seller's name written into them.
TRANSFER_PACKAGE_DIR = Path(envstr("TRANSFER_PACKAGE_DIR") or VAR_DIR / "transfer-packages")
TRANSFER_PACKAGE_DAYS = envint("TRANSFER_PACKAGE_DAYS", 7)
# Days between the recipient's receipt and the destruction of the seller's copies.
TRANSFER_GRACE_DAYS = envint("TRANSFER_GRACE_DAYS", 14)
SALON_NAME = envstr("SALON_NAME") or ""
# Lifecycle jobs (rotation, backups, restore drills, destruction) may run for a long time.
LIFECYCLE_SOFT_TIME_LIMIT = envint("LIFECYCLE_SOFT_TIME_LIMIT", 6 * 3600)
CELERY_TIMEZONE = TIME_ZONE
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    # Every folder the filesystem broker writes is under VAR_DIR (kombu's default control
    # folder is relative to the working directory); they exist before any process sends.
    _celery_dirs = {name: VAR_DIR / "celery" / name for name in ("queue", "processed", "control")}
    for _folder in _celery_dirs.values():
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dirs["queue"]),
        "data_folder_out": str(_celery_dirs["queue"]),
        "processed_folder": str(_celery_dirs["processed"]),
        "control_folder": str(_celery_dirs["control"]),
        "store_processed": False,
    }
# The database scheduler keeps the schedule; beat's own state file goes under VAR_DIR too.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
# Periodic jobs are declared here, in one place; django-celery-beat stores them.
ACCESS_REVIEW_CRON = os.environ.get("ACCESS_REVIEW_CRON", "0 6 1 1,4,7,10 *")


def _crontab(expression: str):
    from celery.schedules import crontab

    try:
        minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    except ValueError:
        raise ImproperlyConfigured(f"not a five-field cron expression: {expression!r}") from None
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                   month_of_year=month_of_year, day_of_week=day_of_week)


CELERY_BEAT_SCHEDULE = {
    "vault-health-check": {
        "task": "vault.tasks.vault_health_check",
        "schedule": envint("VAULT_HEALTH_CHECK_SECONDS", 3600),
    },
    "expire-grants": {"task": "access.tasks.expire_grants", "schedule": 60},
    "refresh-planner-statistics": {"task": "records.tasks.refresh_statistics",
                                   "schedule": _crontab("40 3 * * *")},
    "end-break-glass": {"task": "access.tasks.end_break_glass", "schedule": 60},
    "expire-invitations": {"task": "access.tasks.expire_invitations", "schedule": 600},
    "open-access-review": {"task": "access.tasks.open_access_review",
                           "schedule": _crontab(ACCESS_REVIEW_CRON)},
    "close-due-access-reviews": {"task": "access.tasks.close_due_access_reviews",
                                 "schedule": 3600},
    "audit-index-subjects": {"task": "audit.tasks.index_subjects", "schedule": 60},
    "audit-verify-nightly": {"task": "audit.tasks.verify_chain",
                             "schedule": _crontab(os.environ.get("AUDIT_VERIFY_CRON", "30 2 * * *"))},
    "audit-verify-weekly-full": {"task": "audit.tasks.verify_chain_full", "schedule": _crontab(
        os.environ.get("AUDIT_VERIFY_FULL_CRON", "15 3 * * 0"))},
    "audit-checkpoint": {"task": "audit.tasks.write_checkpoint",
                         "schedule": envint("AUDIT_CHECKPOINT_SECONDS", 300)},
    "audit-prune-daily": {"task": "audit.tasks.prune_events",
                          "schedule": _crontab(os.environ.get("AUDIT_PRUNE_CRON", "45 3 * * *"))},
    "audit-detect-anomalies": {"task": "audit.tasks.detect_anomalies",
                               "schedule": envint("ANOMALY_DETECT_SECONDS", 300)},
    "rights-remind": {"task": "rights.tasks.remind",
                      "schedule": _crontab(os.environ.get("RIGHTS_REMIND_CRON", "0 8 * * *"))},
    "transfer-sweep": {"task": "transfer.tasks.sweep_packages",
                       "schedule": _crontab(os.environ.get("TRANSFER_SWEEP_CRON", "15 8 * * *"))},
    # Lifecycle jobs: beat queues a run; the jobs page shows its progress.
    "kek-rotation": {"task": "lifecycle.tasks.scheduled_job", "args": ["kek-rotation"],
                     "schedule": _crontab(os.environ.get("KEK_ROTATION_CRON", "30 4 2 1 *"))},
    "backup": {"task": "lifecycle.tasks.scheduled_job", "args": ["backup"],
               "schedule": _crontab(os.environ.get("BACKUP_CRON", "0 2 * * *"))},
    "retention": {"task": "lifecycle.tasks.scheduled_job", "args": ["retention"],
                  "schedule": _crontab(os.environ.get("RETENTION_CRON", "30 3 * * *"))},
    "restore-drill": {"task": "lifecycle.tasks.scheduled_job", "args": ["restore-drill"],
                      "schedule": _crontab(os.environ.get("RESTORE_DRILL_CRON", "0 5 * * 0"))},
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "audit.logfilter.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain",
                    "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # fontTools (fpdf2's font subsetting) reports every table it touches at INFO.
    "loggers": {"django.db.backends": {"level": "INFO"}, "fontTools": {"level": "WARNING"}},
}

DEMO_PASSWORD = envstr("SALON_VAULT_DEMO_PASSWORD") or ""

# KEK rotation: a retired key-encryption key is destroyed only when no data key uses it and
# it was retired longer ago than this (the oldest key-store backup a restore may need).
VAULT_BACKUP_HORIZON_DAYS = envint("VAULT_BACKUP_HORIZON_DAYS", 400)

# Audit: how long events are kept (pruning leaves a signed checkpoint), and auditlog.
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", 3 * 365)
if AUDIT_RETENTION_DAYS < 183:  # audit.triggers.RETENTION_FLOOR_DAYS, enforced there too
    raise ImproperlyConfigured(f"AUDIT_RETENTION_DAYS must be at least 183 (six months), "
                               f"not {AUDIT_RETENTION_DAYS}")
# Signed checkpoints of the chain head, outside the database (audit/checkpoint_store.py).
AUDIT_CHECKPOINT_DIR = Path(envstr("AUDIT_CHECKPOINT_DIR") or VAR_DIR / "audit-checkpoints")
# On PostgreSQL, write an opening's event on a second connection while the page reads its
# ciphertext; nothing is decrypted before the event is committed (audit/writer.py).
AUDIT_WRITE_BEHIND = envbool("AUDIT_WRITE_BEHIND", True)
AUDITLOG_INCLUDE_ALL_MODELS = False
# Audit knows nothing of roles: who may read it is decided by these callables.
AUDIT_VIEWER_CHECK = "access.policy.may_view_audit"
AUDIT_SUBJECT_REPORT_CHECK = "access.policy.may_report_subject"
SENSITIVE_ACTION_GUARD = "access.auth_views.reauth_required"
AUDIT_CLIENT_LOOKUP = "records.selectors.client_ids_for_code"
# Anomaly rules (thresholds are per rule; a hit raises an alert for owners and auditors).
ANOMALY_CLIENTS_PER_HOUR = envint("ANOMALY_CLIENTS_PER_HOUR", 40)
ANOMALY_DENIALS_PER_HOUR = envint("ANOMALY_DENIALS_PER_HOUR", 5)
ANOMALY_EXPORT_ROWS = envint("ANOMALY_EXPORT_ROWS", 500)
OPENING_HOURS = os.environ.get("OPENING_HOURS", "08:00-22:00")


def _location_time_zones(raw: str) -> dict[str, str]:
    """`code=Zone,...` to a dict, every zone checked against the time-zone database."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zones = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        code, _sep, zone = (side.strip() for side in item.partition("="))
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ImproperlyConfigured(f"LOCATION_TIME_ZONES: {zone!r} for location {code!r} "
                                       f"is not a time zone such as Asia/Shanghai") from None
        zones[code] = zone
    return zones


# Opening hours are read on each location's own clock (the zone of the client's location
# in the event); a location not named here keeps TIME_ZONE. Example: "hk=Asia/Hong_Kong".
LOCATION_TIME_ZONES = _location_time_zones(os.environ.get("LOCATION_TIME_ZONES", ""))
