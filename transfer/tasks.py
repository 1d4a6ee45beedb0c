"""Celery tasks: thin wrappers that take ids, never plaintext, and are safe to retry."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=6 * 3600,
             time_limit=6 * 3600 + 300)
def build_package(package_id: str) -> str:
    """Build a transfer package; a redelivery starts it again or finds it built."""
    from . import packaging

    return packaging.build(package_id).status


@shared_task
def sweep_packages() -> int:
    """Daily: remove packages past their expiry that were never downloaded."""
    from . import packaging

    return packaging.sweep()
