import logging

from . import context


class RequestIdLogFilter(logging.Filter):
    """Stamp each log line with the request id, so logs and audit events line up."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id or "-"
        return True
