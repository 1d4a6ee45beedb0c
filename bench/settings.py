"""Benchmark settings: the project's settings plus the plaintext twin app.

Set SALON_VAULT_VAR (and DATABASE_URL / VAULT_DATABASE_URL for PostgreSQL) before Django
reads this module; ``bench/records.py`` does.
"""

from salon_vault.settings import *  # noqa: F403
from salon_vault.settings import ALLOWED_HOSTS, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.plainapp.apps.PlainAppConfig"]
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # django.test.Client
DEBUG = False  # no query log, production template loaders

# Warnings only: the login of the bench user must not print axes' INFO lines into the table.
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}  # noqa: F405

# Static files: the same manifest lookups as production's storage, without compressing
# every file at collectstatic (several seconds of CPU that no bench measures). The manifest
# serves production's storage as well: bench/load/run.py's server reads it.
STORAGES = {**STORAGES, "staticfiles": {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
