from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from django.core.signals import request_finished

        request_finished.connect(_close_side_connections,
                                 dispatch_uid="audit.writer.close_side_connections")


def _close_side_connections(**kwargs) -> None:
    # Connected after Django's close_old_connections: a side connection (audit/writer.py)
    # lives no longer than the request thread's own connection to the same database.
    from django.db import connections

    from . import writer

    for connection in connections.all(initialized_only=True):
        writer.close_if_paired_closed(connection)
