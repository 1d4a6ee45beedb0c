import logging

from celery import shared_task

from .status import vault_status

log = logging.getLogger(__name__)


@shared_task
def vault_health_check() -> dict:
    """Periodic: fail loudly in the logs if any stored key is wrapped by a missing KEK."""
    status = vault_status()
    result = {"subjects": status.subjects, "shredded": status.shredded,
              "missing_kek_versions": status.missing_versions}
    if status.missing_versions:
        log.error("vault health: data keys wrapped by missing KEK versions %s",
                  status.missing_versions)
    else:
        log.info("vault health: %s subjects keyed, %s shredded", status.subjects, status.shredded)
    return result
