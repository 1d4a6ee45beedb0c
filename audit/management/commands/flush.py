"""`flush` that can empty the append-only audit tables.

Django's flush (used between transactional tests) deletes every row; the audit triggers
would refuse that. Emptying the whole database is already the most destructive command
there is, so for its duration the triggers are lifted and then put back.
"""

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from audit import triggers


class Command(FlushCommand):
    def handle(self, **options):
        connection = connections[options["database"]]
        triggers.remove(connection)
        try:
            return super().handle(**options)
        finally:
            triggers.install(connection)
