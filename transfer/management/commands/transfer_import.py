"""`manage.py transfer_import PACKAGE --identity FILE --seller-key KEY`: bring the clients of
a bought salon into this one, all or nothing, and write the signed receipt for the seller.
The receipt file's path is the last line printed."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from transfer import importer, package, receipt


class Command(BaseCommand):
    help = ("Import a transfer package: verified first (the seller's pinned key, every hash, "
            "addressed to this identity), then every record and file sealed under this "
            "salon's own keys in one transaction; a package is imported once. Writes the "
            "signed receipt to hand back to the seller.")

    def add_arguments(self, parser):
        parser.add_argument("package")
        parser.add_argument("--identity", required=True,
                            help="identity.txt made by transfer_keygen")
        parser.add_argument("--seller-key", required=True,
                            help="the seller's public key as its owner pages show it "
                                 "(base64 or hex), or a file holding it")
        parser.add_argument("--location", help="the location the clients join (its code); "
                                               "needed when there is more than one")
        parser.add_argument("--receipt", help="where to write the receipt (default: beside "
                                              "the package)")

    def handle(self, *args, **options):
        try:
            seller_key = package.parse_seller_key(options["seller_key"])
            identity = package.load_identity(options["identity"])
        except (OSError, package.InvalidKey) as exc:
            raise CommandError(f"refused: {exc}") from None
        try:
            done = importer.import_package(options["package"], identity=identity,
                                           seller_key=seller_key,
                                           location_code=options["location"])
        except (OSError, importer.ImportRefused) as exc:
            raise CommandError(f"refused, nothing imported: {exc}") from None
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(done.counts.items()))
        self.stdout.write(self.style.SUCCESS(
            f"imported package {done.package_id}: {done.clients} clients ({counts})"))
        target = Path(options["receipt"] or Path(options["package"]).with_name(
            f"transfer-receipt-{done.package_id}.json"))
        target.write_bytes(receipt.dumps(done.receipt))
        self.stdout.write("give the receipt to the seller, who uploads it to the case:")
        self.stdout.write(str(target))
