"""`manage.py client_destroy CLIENT --reason TEXT`: destroy one client now; prints the
certificate file's path as its last line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from records import destruction
from records.models import Destruction


class Command(BaseCommand):
    help = ("Destroy one client (code or id), e.g. after a deletion request: the data key "
            "shredded, the files and records deleted, the audit events kept, and a signed "
            "certificate written. The last line is the certificate file's path. A run that "
            "stopped is finished by the next.")

    def add_arguments(self, parser):
        parser.add_argument("client", help="client code (e.g. BJ-000123) or id")
        parser.add_argument("--reason", required=True, help="why (kept in the certificate)")
        parser.add_argument("--basis", choices=Destruction.Basis.values,
                            default=Destruction.Basis.REQUEST)

    def handle(self, *args, **options):
        ref = options["client"]
        unfinished = Destruction.objects.filter(client_code=ref, scope=Destruction.Scope.CLIENT).exclude(
            state__in=[Destruction.State.REQUESTED, Destruction.State.CERTIFIED]).first()
        try:
            if unfinished is not None:  # a run that stopped: finish it
                done = destruction.run(unfinished)
            else:
                client = destruction.find_client(ref)
                done = destruction.destroy_now(client, actor=None, basis=options["basis"],
                                               reason=options["reason"])
        except destruction.NotDestroyable as exc:
            raise CommandError(str(exc)) from None
        c = done.counts
        self.stdout.write(f"destroyed {done.client_code}: {len(done.key_ids)} data key(s) "
                          f"shredded, {c.get('files', 0)} files and "
                          f"{sum(v for k, v in c.items() if k not in ('files', 'grants_revoked'))} "
                          f"records deleted, {c.get('grants_revoked', 0)} grants revoked")
        self.stdout.write(str(destruction.certificate_path(done)))
