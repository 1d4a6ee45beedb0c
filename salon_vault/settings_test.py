"""Test settings: only what tests need differs from production settings."""

import tempfile
from pathlib import Path

from .settings import *  # noqa: F403
from .settings import DATABASES

TEST_DIR = Path(tempfile.mkdtemp(prefix="salon-vault-test-"))

# SQLite test databases are files, so tests can read the raw bytes at rest.
for _alias, _db in DATABASES.items():
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _db["TEST"] = {"NAME": str(TEST_DIR / f"test_{_alias}.sqlite3")}
    else:
        _db["TEST"] = {"NAME": f"test_{_db['NAME']}"}
    _db["CONN_MAX_AGE"] = 0

SALON_VAULT_KEYRING = str(TEST_DIR / "keyring.json")
VAULT_FILES_ROOT = TEST_DIR / "vault-files"
AUDIT_CHECKPOINT_DIR = TEST_DIR / "audit-checkpoints"
MEDIA_ROOT = TEST_DIR / "media"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Real Redis when the suite runs against it; otherwise an in-process broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"  # noqa: F405
CELERY_BROKER_TRANSPORT_OPTIONS = {}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en"
# The test client and the live server speak plain HTTP; tests that are about HTTPS turn it
# on themselves (tests/test_http_hardening.py).
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
# Static files come from the finders (no collectstatic before tests), looked up per request.
STATIC_ROOT = TEST_DIR / "static"
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
