import os
import sys

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salon_vault.settings")

app = Celery("salon_vault")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_without_keys(**kwargs):
    """Workers and beat never start over data keys their keyring cannot open."""
    from vault.guard import keyring_problem

    if problem := keyring_problem():
        # Celery logs and swallows exceptions from signal handlers; leaving is the refusal.
        sys.stderr.write(f"{problem}\n")
        raise SystemExit(1)
