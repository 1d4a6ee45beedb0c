"""The plaintext demo rows: a seed in, the same people (and the same UUIDs) out, nothing
else touched."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from faker import Faker

from .vocabulary import (
    ALLERGIES,
    CONCERNS,
    CONDITIONS,
    CONTRAINDICATIONS,
    EMAIL_DOMAINS,
    HAIR_COLOURS,
    HAIR_LENGTHS,
    HAIR_TEXTURES,
    KIND_OF_ROLE,
    MEDICATION,
    MODERN_GIVEN,
    NOTES,
    PHONE_PREFIXES,
    PREGNANCY,
    ROLE_OF,
    SCALP,
    SERVICES_BY_KIND,
    SHADES,
    SKIN_TYPES,
    SKIN_WEIGHTS,
    TEAMS,
)


@dataclass(frozen=True)
class TreatmentRow:
    id: uuid.UUID
    performed_on: dt.date
    staff: str
    service: str
    products: tuple[str, ...]
    colour_formula: str
    notes: str
    price: Decimal


@dataclass(frozen=True)
class ClientRow:
    id: uuid.UUID
    location: str
    staff: str  # username of the assigned stylist or beautician, "" when unassigned
    full_name: str
    phone: str
    wechat_id: str
    email: str
    birthday: dt.date | None
    profile: dict[str, str] | None
    health: dict[str, str] | None
    treatments: tuple[TreatmentRow, ...] = field(default=())


@dataclass(frozen=True)
class Pools:
    """Faker is slow per call, so it fills these once and the rows draw from them."""

    surnames: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]
    handles: tuple[str, ...]


def _pools(seed: int) -> Pools:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    # Drawing 2,000 surnames reproduces Faker's frequency weighting of Chinese surnames.
    return Pools(
        surnames=tuple(fake.last_name() for _ in range(2000)),
        female=tuple(fake.first_name_female() for _ in range(600)) + MODERN_GIVEN,
        male=tuple(fake.first_name_male() for _ in range(300)),
        handles=tuple(fake.user_name() for _ in range(2000)),
    )


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _wechat(rng: random.Random, pools: Pools) -> str:
    if rng.random() < 0.3:
        return "wxid_" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=14))
    handle = rng.choice(pools.handles)
    return handle + str(rng.randrange(10, 9999)) if len(handle) < 8 else handle


def _email(rng: random.Random, pools: Pools) -> str:
    if rng.random() < 0.5:
        return f"{rng.randrange(10**7, 4 * 10**9)}@qq.com"
    return f"{rng.choice(pools.handles)}{rng.randrange(100)}@{rng.choice(EMAIL_DOMAINS)}"


def _birthday(rng: random.Random) -> dt.date | None:
    if rng.random() < 0.08:
        return None
    first = dt.date(1960, 1, 1).toordinal()
    return dt.date.fromordinal(int(rng.triangular(first, first + 46 * 365, first + 32 * 365)))


def _profile(rng: random.Random) -> dict[str, str] | None:
    if rng.random() < 0.1:
        return None
    hair = "，".join(filter(None, (rng.choice(HAIR_COLOURS), rng.choice(HAIR_TEXTURES),
                                   rng.choice(HAIR_LENGTHS), rng.choice(SCALP))))
    return {"skin_type": rng.choices(SKIN_TYPES, SKIN_WEIGHTS)[0], "hair": hair,
            "concerns": "、".join(rng.sample(CONCERNS, rng.randint(1, 3)))}


def _health(rng: random.Random, female: bool) -> dict[str, str] | None:
    # About a quarter of clients have told the salon something health-related.
    if rng.random() > 0.25:
        return None
    odds = {"allergies": (0.6, ALLERGIES), "contraindications": (0.25, CONTRAINDICATIONS),
            "medication": (0.2, MEDICATION), "pregnancy": (0.12 if female else 0, PREGNANCY),
            "conditions": (0.3, CONDITIONS)}
    note = {name: rng.choice(words) for name, (p, words) in odds.items() if rng.random() < p}
    return note or {"allergies": rng.choice(ALLERGIES)}


def _colour_formula(rng: random.Random, kind: str) -> str:
    strength = rng.choice((6, 9, 12) if kind == "bleach" else (3, 6, 9))
    oxidant = f"{strength}% 双氧 {rng.choice((40, 60, 80, 90, 120))}ml"
    minutes = f"停留{rng.choice((20, 25, 30, 35, 40, 45))}分钟"
    if kind == "bleach":
        return f"漂粉 {rng.choice((20, 30, 40))}g + {oxidant}, {minutes}"
    first, second = rng.sample(SHADES, 2)
    mix = f"{first} + {second} {rng.choice(('1:1', '2:1', '1:2'))}"
    return f"{mix}, {oxidant}, {minutes}"


def _treatment(rng: random.Random, on: dt.date, location: str, assigned: str,
               main_kind: str) -> TreatmentRow:
    kind = main_kind if rng.random() < 0.8 else ("beauty" if main_kind == "hair" else "hair")
    service = rng.choice(SERVICES_BY_KIND[kind])
    team = TEAMS[location][kind]
    staff = assigned if assigned in team and rng.random() < 0.85 else rng.choice(team)
    return TreatmentRow(
        id=_uuid(rng), performed_on=on, staff=staff, service=service.name,
        products=tuple(rng.sample(service.products, rng.randint(1, min(3, len(service.products))))),
        colour_formula=_colour_formula(rng, service.formula) if service.formula else "",
        notes=rng.choice(NOTES[kind]) if rng.random() < 0.45 else "",
        price=Decimal(rng.choice(service.prices)).quantize(Decimal("0.01")),
    )


def _visit_counts(rng: random.Random, clients: int, treatments: int) -> list[int]:
    """Spread `treatments` over the clients: most come a few times, a loyal few often."""
    if treatments < clients:
        counts = [0] * clients
        for i in rng.sample(range(clients), treatments):
            counts[i] = 1
        return counts
    counts = [1] * clients
    loyalty = [rng.paretovariate(1.6) for _ in range(clients)]
    for i in rng.choices(range(clients), weights=loyalty, k=treatments - clients):
        counts[i] += 1
    return counts


def _client(rng: random.Random, pools: Pools, visits: int, today: dt.date) -> ClientRow:
    location = "bj" if rng.random() < 0.55 else "sh"
    team = TEAMS[location]
    assigned = rng.choice(team["hair"] * 3 + team["beauty"]) if rng.random() < 0.95 else ""
    # A stylist's clients mostly come for hair, a beautician's for skin, nails and lashes.
    main_kind = KIND_OF_ROLE[ROLE_OF[assigned]] if assigned else rng.choice(("hair", "beauty"))
    female = rng.random() < 0.78
    given = rng.choice(pools.female if female else pools.male)
    days = sorted(rng.choices(range(3 * 365), k=visits), reverse=True)
    return ClientRow(
        id=_uuid(rng), location=location, staff=assigned,
        full_name=rng.choice(pools.surnames) + given, phone=_phone(rng),
        wechat_id=_wechat(rng, pools) if rng.random() < 0.85 else "",
        email=_email(rng, pools) if rng.random() < 0.4 else "",
        birthday=_birthday(rng), profile=_profile(rng), health=_health(rng, female),
        treatments=tuple(_treatment(rng, today - dt.timedelta(days=d), location, assigned,
                                    main_kind) for d in days),
    )


def demo_rows(*, seed: int, clients: int, treatments: int, today: dt.date,
              start: int = 0) -> Iterator[ClientRow]:
    """The plaintext of `clients` demo clients, the same for the same arguments.

    `start` (the number of clients already in the salon) gives a later run its own
    stream of people and ids, so adding to a seeded salon does not repeat the first run. Visit dates count back
    from `today`; everything else depends on the seed alone.
    """
    pools = _pools(seed)
    rng = random.Random(f"salon-vault-demo:{seed}:{start}")
    for visits in _visit_counts(rng, clients, treatments):
        yield _client(rng, pools, visits, today)
