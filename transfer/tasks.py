"""Celery tasks: thin wrappers that take ids, never plaintext, and are safe to retry."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=6 * 3600,
             time_limit=6 * 3600 + 300)
def build_package(package_id: str) -> str:
    """Build a transfer package; a redelivery starts it again or finds it built."""
    from . import packaging

    return packaging.build(package_id).status


@shared_task
def sweep_packages() -> dict:
    """Daily: remove packages past their expiry that were never downloaded, and destroy
    the seller's copies of cases whose grace period after the receipt has ended."""
    from . import handover, packaging

    destroyed = 0
    for case in handover.due():
        handover.destroy_seller_copies(case, actor=None)
        destroyed += 1
    return {"packages_removed": packaging.sweep(), "cases_destroyed": destroyed}


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=6 * 3600,
             time_limit=6 * 3600 + 300)
def destroy_seller_copies(case_id: str, user_id: int | None = None) -> str:
    """An owner's "destroy now" after the grace period; a redelivery finishes the work."""
    from django.contrib.auth import get_user_model

    from . import handover
    from .models import State, TransferCase

    case = TransferCase.objects.get(pk=case_id)
    if case.state != State.ACKNOWLEDGED:
        return case.state
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    handover.destroy_seller_copies(case, actor=actor)
    return "destroyed"
