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
