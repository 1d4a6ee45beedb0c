"""Celery tasks: thin wrappers that take ids, never plaintext, and are safe to retry."""

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def make_photo_thumbnail(photo_id: str) -> bool:
    from . import services

    return services.photo_make_thumbnail(photo_id=photo_id)


@shared_task
def refresh_statistics() -> int:
    """Daily: keep the query planner's statistics of the client tables current."""
    from . import maintenance

    return len(maintenance.refresh_statistics())


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,),
             retry_backoff=True, max_retries=5)
def run_destruction(destruction_id: str) -> str:
    """Carry out an approved destruction (e.g. photos after consent was withdrawn); a
    redelivery finishes it or finds it done."""
    from . import destruction
    from .models import Destruction

    found = Destruction.objects.filter(pk=destruction_id).first()
    if found is None or found.state == Destruction.State.CERTIFIED:
        return "done"
    return destruction.run(found).state
