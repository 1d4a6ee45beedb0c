from django.core.management.base import BaseCommand

from audit import actions, services, subject_index


class Command(BaseCommand):
    help = ("Rebuild the index of which events name which client (used by the client "
            "history and the auditor's client-code filter) from the events themselves.")

    def handle(self, *args, **options):
        rows = subject_index.rebuild()
        services.record(actor=None, actor_label="system:audit_reindex", role="system",
                        action=actions.AUDIT_REINDEX, outcome="allowed", detail={"rows": rows})
        self.stdout.write(self.style.SUCCESS(f"client index rebuilt: {rows} rows"))
