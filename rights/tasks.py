"""Celery tasks: thin wrappers that take ids, never plaintext, and are safe to retry."""

from celery import shared_task


@shared_task
def remind() -> dict:
    """Daily: remind owners of rights requests due soon or overdue; delete old copies."""
    from . import requests

    return requests.remind() | {"copies_deleted": requests.sweep_copies()}
