"""The contraindication stop.

A treatment whose product matches the client's recorded allergies, or that needs a patch
test that is missing, failed or expired, is not recorded unless an owner or a manager
overrides it with a reason. The reason is sealed (it may name the client's condition);
audit keeps its id, and the stops as catalogue product names and reason codes.

`check` reads the allergies and patch tests as the system actor "contraindication-check":
whoever records the treatment (a manager sees up to L3) learns which product is stopped
and why, never the allergy text.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from access import door
from access.models import Role
from audit import actions
from audit import services as audit
from vault.classes import DataClass
from vault.errors import IntegrityError
from vault.scope import Damaged

from . import consent
from .models import Client, ContraindicationOverride, HealthNote, PatchTest, Product, Treatment

CHECKER = "contraindication-check"
SEALER = "contraindication-override"
OVERRIDERS = frozenset({Role.OWNER, Role.MANAGER})
MANAGES_PRODUCTS = OVERRIDERS


class Reason:
    """Why a product is stopped: the codes audit and the override row keep."""

    ALLERGY = "allergy"
    PATCH_TEST_MISSING = "patch_test_missing"
    PATCH_TEST_FAILED = "patch_test_failed"
    PATCH_TEST_EXPIRED = "patch_test_expired"
    RECORD_DAMAGED = "record_damaged"  # the allergies or the patch test cannot be read


@dataclass(frozen=True)
class Stop:
    product: str  # the catalogue's name, or the name as typed
    reason: str  # a Reason
    product_id: uuid.UUID | None = None  # None: not in the catalogue
    tested_on: dt.date | None = None
    expired_on: dt.date | None = None

    @property
    def explanation(self) -> str:
        if self.reason == Reason.ALLERGY:
            return _("matches the client's recorded allergies")
        if self.reason == Reason.PATCH_TEST_MISSING:
            return _("needs a patch test, and none is recorded")
        if self.reason == Reason.PATCH_TEST_FAILED:
            return _("the latest patch test (%(date)s) failed") % {"date": self.tested_on}
        if self.reason == Reason.PATCH_TEST_EXPIRED:
            return _("the patch test of %(tested)s expired on %(date)s") % {
                "tested": self.tested_on, "date": self.expired_on}
        return _("the health record needed for the check is damaged and cannot be read")

    def as_record(self) -> dict:
        """What audit and the override row keep. A typed name is left out: it matched the
        allergies, so it may be a piece of their text."""
        if self.product_id is None:
            return {"product": None, "reason": self.reason}
        return {"product": self.product, "product_id": str(self.product_id),
                "reason": self.reason}


class Stopped(Exception):
    """The treatment was not recorded: `stops` say why."""

    def __init__(self, stops: list[Stop], *, override_refused: bool = False) -> None:
        super().__init__(f"{len(stops)} contraindication stop(s)")
        self.stops = stops
        self.override_refused = override_refused


def may_override(role: str) -> bool:
    return role in OVERRIDERS


def may_manage_products(role: str) -> bool:
    return role in MANAGES_PRODUCTS


def _fold(text: str) -> str:
    # Full-width letters (ＰＰＤ) and case do not hide a match.
    return unicodedata.normalize("NFKC", text).casefold()


def _names(products: list) -> list[str]:
    """The products' names, each once (older treatments may hold {"name": …} entries)."""
    names: dict[str, str] = {}
    for item in products:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip():
            names.setdefault(_fold(name.strip()), name.strip())
    return list(names.values())


def _catalogue(names: list[str]) -> dict[str, Product]:
    """The catalogue's products among `names`, inactive ones included, by folded name."""
    folded = {_fold(n) for n in names}
    return {_fold(p.name): p for p in Product.objects.all() if _fold(p.name) in folded}


def check(client: Client, products: list, *, on: dt.date | None = None) -> list[Stop]:
    """The stops for recording `products` on `client` on the day `on` (default today)."""
    names = _names(products)
    if not names:
        return []
    on = on or timezone.localdate()
    catalogue = _catalogue(names)
    tested = [p for p in catalogue.values() if p.needs_patch_test]
    if not tested and not HealthNote.objects.filter(client_id=client.pk).exists():
        return []  # nothing to read, so nothing is opened
    stops: list[Stop] = []
    with door.open_for_system(actor=CHECKER, purpose=actions.CHECK_CONTRAINDICATIONS,
                              subjects=[client.pk], ceiling=DataClass.L4):
        allergies = _allergies(client)
        latest = _latest_patch_tests(client, tested, on)
        for name in names:
            product = catalogue.get(_fold(name))
            stops += _allergy_stops(name, product, allergies)
            if product is not None and product.needs_patch_test:
                stops += _patch_test_stops(product, latest.get(product.pk), on)
    return stops


def _allergies(client: Client) -> str | None:
    """The folded allergy text ("" when none is recorded), None when it is damaged."""
    note = HealthNote.objects.filter(client_id=client.pk).first()
    if note is None:
        return ""
    try:
        value = note.allergies
    except IntegrityError:
        return None
    if isinstance(value, Damaged):
        return None
    return _fold(value or "")


def _latest_patch_tests(client: Client, products: list[Product],
                        on: dt.date) -> dict[uuid.UUID, PatchTest]:
    if not products:
        return {}
    latest: dict[uuid.UUID, PatchTest] = {}
    for test in (PatchTest.objects.filter(client_id=client.pk, product__in=products,
                                          tested_on__lte=on)
                 .order_by("product_id", "-tested_on", "-created_at")):
        latest.setdefault(test.product_id, test)
    return latest


def _allergy_stops(name: str, product: Product | None, allergies: str | None) -> list[Stop]:
    shown, product_id = (product.name, product.pk) if product else (name, None)
    if allergies is None:
        return [Stop(shown, Reason.RECORD_DAMAGED, product_id)]
    words = [name, *(product.allergen_keywords if product else [])]
    if allergies and any(_fold(word) in allergies for word in words if _fold(word)):
        return [Stop(shown, Reason.ALLERGY, product_id)]
    return []


def _patch_test_stops(product: Product, test: PatchTest | None, on: dt.date) -> list[Stop]:
    if test is None:
        return [Stop(product.name, Reason.PATCH_TEST_MISSING, product.pk)]
    try:
        result = test.result
    except IntegrityError:
        result = None
    if result is None or isinstance(result, Damaged):
        return [Stop(product.name, Reason.RECORD_DAMAGED, product.pk, test.tested_on)]
    if result != PatchTest.Result.PASSED:
        return [Stop(product.name, Reason.PATCH_TEST_FAILED, product.pk, test.tested_on)]
    # Valid for patch_test_valid_days after the test day; expired once older than that.
    expired_on = test.tested_on + dt.timedelta(days=product.patch_test_valid_days + 1)
    if on >= expired_on:
        return [Stop(product.name, Reason.PATCH_TEST_EXPIRED, product.pk, test.tested_on,
                     expired_on)]
    return []


def _label(user) -> str:
    return user.get_username()


def stops_to_override(*, actor, role: str, client: Client, products: list, on: dt.date,
                      override_reason: str) -> list[Stop]:
    """Check a treatment about to be recorded. Returns the stops an override lets through
    (none when nothing stops it); raises Stopped, with its event recorded, when the
    treatment must not be recorded: there are stops and no reason, or a reason from
    someone who may not override."""
    stops = check(client, products, on=on)
    if not stops:
        return []
    reason = " ".join(override_reason.split())
    refused = bool(reason) and not may_override(role)
    audit.record(actor=actor, actor_label=_label(actor), role=role,
                 action=actions.CONTRAINDICATION_STOP, outcome="allowed", client_id=client.pk,
                 client_code=client.code, location_code=client.location.code,
                 purpose=actions.RECORD_TREATMENT,
                 detail={"stops": [stop.as_record() for stop in stops]})
    if refused:
        door.record_denied(user=actor, action=actions.CONTRAINDICATION_OVERRIDE,
                           purpose=actions.RECORD_TREATMENT, client_id=client.pk)
    if refused or not reason:
        raise Stopped(stops, override_refused=refused)
    return stops


def override_record(*, actor, role: str, client: Client, treatment: Treatment,
                    stops: list[Stop], reason: str) -> ContraindicationOverride:
    """Keep an owner's or manager's override of `stops` for `treatment` (inside the
    treatment's transaction), its reason sealed, its id audited."""
    # The reason is sealed at L4, above a manager's own opening (L3): a system opening
    # seals what they typed, which shows them nothing they did not write.
    with door.open_for_system(actor=SEALER, purpose=actions.CHECK_CONTRAINDICATIONS,
                              subjects=[client.pk], ceiling=DataClass.L4):
        row = ContraindicationOverride.objects.create(
            client=client, treatment=treatment, decided_by=actor,
            stops=[stop.as_record() for stop in stops], reason=" ".join(reason.split()))
    audit.record(actor=actor, actor_label=_label(actor), role=role,
                 action=actions.CONTRAINDICATION_OVERRIDE, outcome="allowed",
                 client_id=client.pk, client_code=client.code,
                 location_code=client.location.code, purpose=actions.RECORD_TREATMENT,
                 detail={"override_id": str(row.pk), "treatment_id": str(treatment.pk)})
    return row


def patch_test_add(*, actor, client: Client, product: Product, tested_on: dt.date,
                   result: str, reaction: str = "", decider=None) -> PatchTest:
    """Record a patch test: health data, so it needs the client's record opened at L4."""
    consent.check_allowed(client.pk, consent.Purpose.HEALTH)
    if result not in PatchTest.Result.values:
        raise ValueError(f"unknown patch test result: {result!r}")
    with door.open_client(user=actor, client=client, purpose=actions.CHECK_CONTRAINDICATIONS,
                          action=actions.CLIENT_UPDATE, want=DataClass.L4, decider=decider):
        return PatchTest.objects.create(client=client, product=product, tested_on=tested_on,
                                        result=result, reaction=reaction.strip() or None,
                                        recorded_by=actor)
