"""Settings of the backup benchmark: bench/settings.py without the plaintext twin app.

A backup reads the table of every installed model, and a restore writes them back after
migrating; the twin's tables exist only in the records bench's salon (it creates them
itself, they have no migrations), so with the twin installed the backup would fail on a
table that is not there. The subprocesses of this bench (backup_verify, backup_restore)
run with these settings too.
"""

from bench.settings import *  # noqa: F403
from bench.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if not app.startswith("bench.plainapp")]
ROOT_URLCONF = "salon_vault.urls"
