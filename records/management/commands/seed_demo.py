from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from records import demo


def _non_negative(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


class Command(BaseCommand):
    help = (
        "Load a deterministic demo salon: branches bj and sh, demo staff, and zh_CN client "
        "records with treatments, before/after photos and consent forms, all encrypted "
        "through the vault. The same --seed gives the same clients. Prints the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=_non_negative, default=300,
                            help="number of clients to add (default 300)")
        parser.add_argument("--treatments", type=_non_negative, default=None,
                            help="TOTAL number of treatments over all clients, not per client "
                                 "(default: three per client; most clients get 1-4, a loyal "
                                 "few many more)")
        parser.add_argument("--seed", type=int, default=1,
                            help="seed of the generated people (default 1)")
        parser.add_argument("--photos", type=_non_negative, default=20,
                            help="clients who get a before/after photo pair (default 20)")
        parser.add_argument("--forms", type=_non_negative, default=10,
                            help="clients who get a signed consent form PDF (default 10)")
        parser.add_argument("--once", action="store_true",
                            help="do nothing but print the logins if the salon has clients (or "
                                 "staff other than the demo staff) already; used by `make run`")

    def handle(self, *args, **options) -> None:
        password = demo.demo_password()
        if options["once"] and demo.salon_has_data():
            self.stdout.write("Demo salon already loaded; nothing added.")
            self._print_logins(demo.demo_logins(password=password.value), password)
            return
        self.stdout.write(f"Loading demo salon: {options['clients']} clients (seed "
                          f"{options['seed']})...")
        try:
            result = demo.seed_demo(clients=options["clients"], treatments=options["treatments"],
                                    seed=options["seed"], photos=options["photos"],
                                    forms=options["forms"], stdout=self.stdout)
        except KeyboardInterrupt:
            raise CommandError("interrupted: the batches written so far are complete") from None
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {result.clients} clients, {result.treatments} treatments, {result.photos} "
            f"photos and {result.forms} forms in {result.seconds:.1f}s."))
        self._print_logins(result.logins, password)

    def _print_logins(self, logins: list[demo.DemoLogin], password: demo.DemoPassword) -> None:
        if not logins:
            self.stdout.write("No demo logins: this salon has its own data.")
            return
        self.stdout.write("\nDemo logins:")
        for login in logins:
            where = (f"{login.location} {demo.LOCATIONS[login.location]}" if login.location
                     else "all locations")
            self.stdout.write(f"  {login.username:<14} {login.role:<11} {where}")
        self.stdout.write(f"  password: {password.value}   (from {password.source})")
        # Recovery codes are shown once, to their owner, when made: never printed here.
        second = sorted(login.username for login in logins
                        if login.role in settings.OTP_REQUIRED_ROLES)
        if second:
            self.stdout.write(f"  Two-factor sign-in for {', '.join(second)}: each sets up an "
                              "authenticator app at first sign-in (QR code and key on screen) "
                              "and sees their recovery codes once, there.")
        self.stdout.write("")
