"""`manage.py transfer_open PACKAGE --identity FILE --out DIR [--seller-key KEY]`: verify a
transfer package and write its open format into an empty DIR.
(Offline, without this project: `python transfer/package.py open ...`.)"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from transfer import package


class Command(BaseCommand):
    help = ("Decrypt and verify a transfer package (every part's SHA-256, the seller's "
            "signature), then write records/, files/, manifest.json and manifest.sig into an "
            "empty DIR. Nothing is written when the package is refused.")

    def add_arguments(self, parser):
        parser.add_argument("package")
        parser.add_argument("--identity", required=True, help="the buyer's identity.txt")
        parser.add_argument("--out", required=True, help="an empty or new directory")
        parser.add_argument("--seller-key",
                            help="the seller's Ed25519 public key (base64 or hex), or a file "
                                 "holding it")

    def handle(self, *args, **options):
        try:
            seller_key = (package.parse_seller_key(options["seller_key"])
                          if options["seller_key"] else None)
            identity = package.load_identity(options["identity"])
            manifest = package.open_to(options["package"], identity=identity,
                                       seller_key=seller_key, out_dir=options["out"])
        except (OSError, package.InvalidKey, package.PackageRefused) as exc:
            raise CommandError(f"refused: {exc}") from None
        if seller_key is None:
            self.stderr.write(self.style.WARNING(
                "WARNING: the seller's key was not pinned (--seller-key): the package was "
                "checked against the key it names itself, fingerprint "
                f"{manifest['seller_fingerprint']}. Confirm this fingerprint with the seller "
                "before trusting the records."))
        self.stdout.write(self.style.SUCCESS(f"opened {package.describe(manifest)}"))
        self.stdout.write(f"into {options['out']}")
