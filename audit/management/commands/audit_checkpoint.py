from django.core.management.base import BaseCommand, CommandError

from audit import chain, checkpoint_file, checkpoints
from audit.checkpoint_store import store


class Command(BaseCommand):
    help = ("Sign the audit chain's head with the deployment key and keep the checkpoint "
            "outside the database (AUDIT_CHECKPOINT_DIR); nothing is written when the head "
            "has not moved. The last line printed is the checkpoint's '#seq hash'. "
            "--public-key prints the key that verifies checkpoints offline.")

    def add_arguments(self, parser):
        parser.add_argument("--public-key", action="store_true",
                            help="print the public key and its fingerprint, write nothing")

    def handle(self, *args, **options):
        if options["public_key"]:
            key = checkpoints.public_key()
            self.stdout.write(f"public key: {checkpoint_file.public_key_text(key)}")
            self.stdout.write(f"fingerprint: {checkpoint_file.fingerprint(key)}")
            return
        try:
            written = checkpoints.checkpoint_write()
        except checkpoints.CheckpointRefused as exc:
            raise CommandError(f"not signed: {exc}") from exc
        if written is not None:
            self.stdout.write(f"checkpoint written: {written.location}")
            head = written.head
        else:
            head = checkpoints.checkpoint_latest()
            if head is None:
                self.stdout.write("the chain is empty: nothing to sign")
                self.stdout.write(f"#0 {chain.GENESIS}")
                return
            self.stdout.write(f"the head has not moved since the latest checkpoint in "
                              f"{store().location}")
        self.stdout.write(f"#{head.seq} {head.hash}")
