"""Periodic access jobs: thin wrappers around services, each safe to run twice."""

from celery import shared_task

from . import invitations, services


@shared_task
def expire_grants() -> int:
    return services.grants_expire()


@shared_task
def end_break_glass() -> int:
    return services.break_glass_expire()


@shared_task
def open_access_review() -> bool:
    return services.access_review_open() is not None


@shared_task
def close_due_access_reviews() -> int:
    return services.access_review_close_due()


@shared_task
def expire_invitations() -> int:
    return invitations.invitations_expire()
