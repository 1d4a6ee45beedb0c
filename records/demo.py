"""The demo salon: two branches, demo staff, and deterministic zh_CN client records.

`demo_rows` turns a seed into plaintext rows and touches nothing else, so the same seed
always gives the same people (and the same UUIDs). `seed_demo` writes them through the
vault in batches: each batch is opened by the door for the system actor `seed_demo`, gets
its data keys in one write, and is inserted with `bulk_create` in one transaction per
database, so a crash leaves whole batches and never rows without keys.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from faker import Faker
from PIL import Image, ImageDraw, ImageOps

from access import door
from access import services as access_services
from access.models import (
    Agreement,
    AgreementAcceptance,
    Location,
    Role,
    StaffProfile,
    TrainingRecord,
)
from vault import scope as vault_scope

from . import uploads
from .models import BeautyProfile, Client, ClientForm, HealthNote, Photo, Treatment
from .services import next_client_codes

BATCH = 2000
PROGRESS_EVERY = 10_000
ACTOR, PURPOSE = "seed_demo", "load demo salon"

LOCATIONS = {"bj": "北京国贸店", "sh": "上海静安店"}


@dataclass(frozen=True)
class StaffSpec:
    username: str
    role: str
    location: str | None
    display_name: str


# The first five are the logins `make run` prints first and the tests use; the rest make the
# assignment of clients look like a real salon with several stylists per branch.
STAFF = (
    StaffSpec("owner", Role.OWNER, None, "陈静（店主）"),
    StaffSpec("manager", Role.MANAGER, "bj", "刘洋（店长）"),
    StaffSpec("stylist", Role.STYLIST, "bj", "Tony老师"),
    StaffSpec("reception", Role.RECEPTION, "bj", "小周（前台）"),
    StaffSpec("auditor", Role.AUDITOR, None, "孙敏（审计）"),
    StaffSpec("stylist2_bj", Role.STYLIST, "bj", "Kevin老师"),
    StaffSpec("beautician_bj", Role.BEAUTICIAN, "bj", "王丽（美容师）"),
    StaffSpec("manager_sh", Role.MANAGER, "sh", "黄磊（店长）"),
    StaffSpec("stylist_sh", Role.STYLIST, "sh", "Jason老师"),
    StaffSpec("stylist2_sh", Role.STYLIST, "sh", "Amy老师"),
    StaffSpec("beautician_sh", Role.BEAUTICIAN, "sh", "赵琳（美容师）"),
    StaffSpec("reception_sh", Role.RECEPTION, "sh", "小林（前台）"),
)
KIND_OF_ROLE = {Role.STYLIST: "hair", Role.BEAUTICIAN: "beauty"}

# -- vocabulary ------------------------------------------------------------------------
def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PHONE_PREFIXES = _words("130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 "
                  "159 166 173 175 176 177 178 180 181 182 183 185 186 187 188 189 198 199")
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "139.com")
MODERN_GIVEN = _words("梓涵 欣怡 子涵 诗涵 雨桐 思彤 一诺 可馨 语嫣 佳怡 晓彤 梦瑶 雅琪 若曦 紫萱 "
                      "书瑶 婉清 沐晴 嘉欣 心怡 静怡 安琪 悦 琳 瑶 萌 楠 璐 倩 薇")
SKIN_TYPES = ("干性", "油性", "混合性", "敏感性", "中性")
SKIN_WEIGHTS = (20, 18, 35, 17, 10)
HAIR_COLOURS = ("自然黑", "深棕", "栗棕", "亚麻灰", "奶茶棕", "酒红", "冷棕", "黑茶色")
HAIR_TEXTURES = ("细软", "发量中等", "粗硬", "自然卷", "烫后受损", "漂后易断", "发量少")
HAIR_LENGTHS = ("短发", "齐耳", "及肩", "过肩", "长发")
SCALP = ("", "", "头皮偏油", "头皮干燥", "头皮敏感")
CONCERNS = ("痘痘", "色斑", "细纹", "毛孔粗大", "暗沉", "干燥缺水", "敏感泛红", "黑眼圈", "脱发",
            "头皮屑", "发质干枯毛躁", "白发", "分叉")
ALLERGIES = ("对PPD染发剂过敏", "对坚果过敏", "对青霉素过敏", "对乳胶过敏", "对香精过敏",
             "对镍过敏", "对果酸敏感", "对花粉过敏", "对睫毛胶（氰基丙烯酸酯）过敏")
CONTRAINDICATIONS = ("近两周做过光子嫩肤，暂停果酸和去角质", "头皮有破损，暂缓烫染",
                     "玫瑰痤疮，避免去角质和高温蒸脸", "眼部术后未满三个月，暂不做睫毛嫁接",
                     "染发前须做48小时皮肤测试")
MEDICATION = ("口服异维A酸", "服用阿司匹林（抗凝）", "外用维A酸乳膏", "口服避孕药", "服用抗组胺药",
              "服用左甲状腺素")
PREGNANCY = ("孕期约20周，避免烫染", "哺乳期", "备孕中，暂不染发")
CONDITIONS = ("湿疹", "头皮银屑病", "脂溢性皮炎", "甲状腺功能减退", "2型糖尿病", "哮喘", "高血压")
SHADES = ("4/0", "5/0", "5/1", "6/0", "6/1", "6/34", "7/0", "7/1", "7/43", "8/0", "8/1", "9/1",
          "9/12", "10/1")


@dataclass(frozen=True)
class Service:
    name: str
    kind: str  # "hair" or "beauty": done by a stylist or a beautician
    prices: tuple[int, ...]
    products: tuple[str, ...]
    formula: str = ""  # "colour" or "bleach" when the visit has a colour formula


_CARE = ("卡诗 黑钻钥源发膜", "资生堂 芯护理道头皮精华", "Olaplex 3号", "欧莱雅专业 丝泉护理")
_DYE = ("欧莱雅专业 染膏", "威娜 Koleston 染膏", "施华蔻 IGORA 染膏", "欧莱雅专业 双氧乳", "Olaplex 1号")
SERVICES = (
    Service("洗剪吹", "hair", (68, 88, 128, 168), ("卡诗 滋养洗发水", "施华蔻 定型喷雾")),
    Service("剪发", "hair", (128, 168, 268, 388), ("施华蔻 定型喷雾", "欧莱雅专业 护发精油")),
    Service("染发", "hair", (388, 488, 688, 888, 1288), _DYE, "colour"),
    Service("挑染", "hair", (588, 888, 1288, 1588), _DYE, "colour"),
    Service("漂发", "hair", (488, 688, 988), ("施华蔻 漂粉", "欧莱雅专业 双氧乳", "Olaplex 1号"),
            "bleach"),
    Service("烫发", "hair", (388, 588, 888, 1288, 1688), ("资生堂 水之密语烫发水", "卡诗 发膜")),
    Service("护理", "hair", (168, 268, 388, 588), _CARE),
    Service("头皮护理", "hair", (198, 298, 398), _CARE),
    Service("面部护理", "beauty", (198, 398, 580, 880),
            ("雅漾 舒护活泉水", "修丽可 B5保湿精华", "理肤泉 B5修复霜", "薇诺娜 舒敏保湿特护霜")),
    Service("美甲", "beauty", (98, 168, 268, 398), ("OPI 甲油胶", "CND 加固底胶", "Kiko 封层")),
    Service("睫毛嫁接", "beauty", (198, 298, 398, 598), ("0.07 C翘单根睫毛", "低敏嫁接胶", "睫毛清洁液")),
)
NOTES = {
    "hair": ("客人喜欢层次感，刘海不要太短", "发尾干枯，建议下次加做护理", "白发集中在两鬓，重点覆盖",
             "想留长，只修发尾", "对氨水味道敏感，用低氨染膏", "下次约周末上午"),
    "beauty": ("皮肤偏干，面膜加敷十分钟", "T区出油，清洁后做补水", "指甲偏薄，建议加固",
               "睫毛自身偏短，用9-11mm", "喜欢裸色系", "对香味敏感，用无香型产品"),
}


# -- plaintext rows --------------------------------------------------------------------
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


def _staff_of(location: str) -> dict[str, list[str]]:
    team: dict[str, list[str]] = {"hair": [], "beauty": []}
    for spec in STAFF:
        if spec.location == location and spec.role in KIND_OF_ROLE:
            team[KIND_OF_ROLE[spec.role]].append(spec.username)
    return team


TEAMS = {code: _staff_of(code) for code in LOCATIONS}
ROLE_OF = {spec.username: spec.role for spec in STAFF}
DEMO_NAMES = tuple(ROLE_OF)
SERVICES_BY_KIND = {kind: [s for s in SERVICES if s.kind == kind] for kind in ("hair", "beauty")}


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


# -- photos and forms ------------------------------------------------------------------
def demo_jpeg(*, seed: int, index: int, kind: str) -> bytes:
    """A 320×320 stylised portrait: the 'after' picture has the new, brighter colour."""
    # Both pictures of a pair draw the same numbers, so only the hair colour differs.
    rng = random.Random(f"salon-vault-photo:{seed}:{index}")
    before = (rng.randint(40, 90), rng.randint(25, 60), rng.randint(15, 40))
    after = (rng.randint(120, 200), rng.randint(60, 140), rng.randint(40, 120))
    hair = after if kind == "after" else before
    top, bottom = (rng.randint(200, 250),) * 3, (rng.randint(150, 200), 170, 190)
    img = ImageOps.colorize(Image.linear_gradient("L").resize((320, 320)), top, bottom)
    draw = ImageDraw.Draw(img)
    draw.ellipse((70, 40, 250, 260), fill=hair)  # hair behind the face
    draw.ellipse((100, 80, 220, 230), fill=(236, 200, 176))
    draw.rectangle((60, 250, 260, 320), fill=(rng.randint(60, 200), 90, 120))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=82)
    return out.getvalue()


def demo_pdf(*, lines: Iterable[str]) -> bytes:
    """A one-page PDF with a correct cross-reference table (ASCII text, Helvetica)."""
    # Brackets instead of parentheses and backslashes: nothing to escape in the strings.
    safe = (line.translate(str.maketrans("()\\", "[]/")) for line in lines)
    text = "".join(f"({line}) Tj 0 -22 Td\n" for line in safe)
    stream = f"BT /F1 13 Tf 60 780 Td\n{text}ET".encode("ascii")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


# -- staff and password ----------------------------------------------------------------
@dataclass(frozen=True)
class DemoPassword:
    value: str
    source: str


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    location: str  # "" for all locations


def demo_password() -> DemoPassword:
    """SALON_VAULT_DEMO_PASSWORD if set, else one generated once and kept in VAR_DIR."""
    if settings.DEMO_PASSWORD:
        return DemoPassword(settings.DEMO_PASSWORD, "SALON_VAULT_DEMO_PASSWORD")
    path = Path(settings.VAR_DIR) / "demo_password"
    if not path.exists():
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to misread on a tablet
        _write_once(path, "-".join("".join(secrets.choice(alphabet) for _ in range(5))
                                   for _ in range(4)))
    path.chmod(0o600)
    return DemoPassword(path.read_text().strip(), str(path))


def _write_once(path: Path, text: str) -> None:
    # Written in full under a private name, then linked into place: a second process
    # starting at the same moment keeps the first password and never reads a half file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _logins(users: dict[str, User]) -> list[DemoLogin]:
    return [DemoLogin(s.username, s.role, s.location or "") for s in STAFF if s.username in users]


@transaction.atomic
def demo_staff_ensure(*, password: str) -> dict[str, User]:
    """Create the branches and the demo staff that are missing; return users by name."""
    places = {code: Location.objects.get_or_create(code=code, defaults={"name": name})[0]
              for code, name in LOCATIONS.items()}
    users = _demo_users(password=password)
    # A name someone already uses for a real account is left alone, never taken over.
    taken = set(User.objects.filter(username__in=DEMO_NAMES).values_list("username", flat=True))
    # One hash for every demo user: they share the password anyway, and each hash costs
    # a second of PBKDF2.
    hashed = None
    for spec in STAFF:
        if spec.username in taken:
            continue
        hashed = hashed or make_password(password)
        user = User.objects.create(username=spec.username, password=hashed)
        StaffProfile.objects.create(user=user, role=spec.role, display_name=spec.display_name,
                                    location=places[spec.location] if spec.location else None)
        users[spec.username] = user
    _demo_gates_ensure(users)
    return users


AGREEMENT_TITLE = "客户信息保密协议 · Client confidentiality agreement"
AGREEMENT_BODY = (
    "本人承诺：仅为提供服务所需查看客户信息；不复制、拍摄、转发或带离任何客户资料；"
    "离职后继续履行保密义务。所有访问均被记录并接受审计。\n\n"
    "I will open client information only as my work requires; I will not copy, photograph, "
    "forward or take away any client record; my duty of confidentiality continues after I "
    "leave. Every access is recorded and audited."
)


def _demo_gates_ensure(users: dict[str, User]) -> None:
    """The demo staff have accepted the agreement and completed training, so every page
    of the demo opens; an owner can publish a new version to see the gate at work."""
    agreement = Agreement.objects.order_by("-version").first() or Agreement.objects.create(
        version=1, title=AGREEMENT_TITLE, body=AGREEMENT_BODY)
    today = timezone.localdate()
    for user in users.values():
        AgreementAcceptance.objects.get_or_create(agreement=agreement, user=user)
        if not TrainingRecord.objects.filter(user=user, expires_on__gte=today).exists():
            TrainingRecord.objects.create(user=user, course="客户隐私与个人信息保护法基础",
                                          completed_on=today,
                                          expires_on=today + dt.timedelta(days=365))


def demo_recovery_codes(*, usernames: Iterable[str]) -> dict[str, list[str]]:
    """Unused two-factor recovery codes of the demo users whose role needs two-factor, made
    on first use, so the demo can be tried without an authenticator app at hand."""
    codes = {}
    for user in User.objects.filter(username__in=list(usernames), staff__isnull=False):
        if user.staff.role not in settings.OTP_REQUIRED_ROLES:
            continue
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name="recovery", defaults={"confirmed": True})
        if not device.token_set.exists():
            StaticToken.objects.bulk_create(
                [StaticToken(device=device, token=StaticToken.random_token()) for _ in range(5)])
        codes[user.username] = list(device.token_set.values_list("token", flat=True))
    return codes


def _demo_users(*, password: str) -> dict[str, User]:
    """The demo users that exist, with passwords brought in line with `password`.

    `make run` prints the current demo password, so a changed SALON_VAULT_DEMO_PASSWORD
    must reach users created by an earlier run. Checking one user costs one hash. Only
    staff accounts count as demo users: a superuser called "owner" keeps its password.
    """
    users = {u.username: u for u in User.objects.filter(
        username__in=DEMO_NAMES, is_superuser=False, staff__isnull=False)}
    probe = next(iter(users.values()), None)
    if probe is not None and not probe.check_password(password):
        User.objects.filter(pk__in=[u.pk for u in users.values()]).update(
            password=make_password(password))
    return users


def salon_has_data() -> bool:
    """True once there are clients, or staff other than the demo staff: `--once` then
    leaves the salon alone. A run that crashed before its first batch counts as not loaded.
    """
    return (Client.objects.exists()
            or StaffProfile.objects.exclude(user__username__in=DEMO_NAMES).exists())


def demo_logins(*, password: str) -> list[DemoLogin]:
    with transaction.atomic():
        return _logins(_demo_users(password=password))


# -- writing ---------------------------------------------------------------------------
@dataclass
class DemoResult:
    clients: int = 0
    treatments: int = 0
    photos: int = 0
    forms: int = 0
    seconds: float = 0.0
    logins: list[DemoLogin] = field(default_factory=list)


@dataclass
class _Context:
    seed: int
    users: dict[str, User]
    places: dict[str, Location]
    photos_left: int
    forms_left: int
    result: DemoResult


def _say(stdout: IO[str] | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")
        stdout.flush()  # progress must show when the output goes to a file or a pipe


def _chunks(rows: Iterator[ClientRow], size: int) -> Iterator[list[ClientRow]]:
    while chunk := [row for _, row in zip(range(size), rows, strict=False)]:
        yield chunk


def seed_demo(*, clients: int, treatments: int | None = None, seed: int = 1, photos: int = 20,
              forms: int = 10, today: dt.date | None = None,
              stdout: IO[str] | None = None) -> DemoResult:
    """Load `clients` demo clients with `treatments` visits in all (default three each).

    The first `photos` clients with a visit get a before/after photo pair, the first
    `forms` a signed consent form. Adds to whatever is there; `salon_has_data` guards
    `--once`.
    """
    began = time.monotonic()
    password = demo_password()
    users = demo_staff_ensure(password=password.value)
    ctx = _Context(seed=seed, users=users, places={p.code: p for p in Location.objects.all()},
                   photos_left=photos, forms_left=forms, result=DemoResult(logins=_logins(users)))
    total = 3 * clients if treatments is None else treatments
    rows = demo_rows(seed=seed, clients=clients, treatments=total,
                     today=today or timezone.localdate(), start=Client.objects.count())
    for batch in _chunks(rows, BATCH):
        _write_batch(batch, ctx)
        done = ctx.result.clients
        if done % PROGRESS_EVERY < len(batch) or done == clients:
            _say(stdout, f"  {done:>7} / {clients} clients, {ctx.result.treatments} treatments "
                         f"({time.monotonic() - began:.0f}s)")
    ctx.result.seconds = time.monotonic() - began
    return ctx.result


def _write_batch(rows: list[ClientRow], ctx: _Context) -> None:
    # One scope per batch, naming its clients: each audit event says exactly whom it
    # opened, and the unwrapped keys are dropped after each batch, not held for 100,000.
    # The door writes its audit event before the transactions, so it stays even if the
    # batch fails. Keys are the inner transaction, committed just before the records: a
    # failure rolls back both, and no committed record is ever without its key.
    ids = [row.id for row in rows]
    with (door.open_for_system(actor=ACTOR, purpose=PURPOSE, subjects=ids, create=True),
          transaction.atomic(using="default"), transaction.atomic(using="vault")):
        vault_scope.current().create_keys(ids)
        clients = _insert_clients(rows, ctx)
        _insert_details(rows, ctx)
        _attach_files(rows, clients, ctx)
    ctx.result.clients += len(rows)
    ctx.result.treatments += sum(len(row.treatments) for row in rows)


def _insert_clients(rows: list[ClientRow], ctx: _Context) -> list[Client]:
    codes = {code: iter(next_client_codes(place, sum(r.location == code for r in rows)))
             for code, place in ctx.places.items() if code in LOCATIONS}
    clients = [
        Client(id=row.id, code=next(codes[row.location]), location=ctx.places[row.location],
               assigned_staff=ctx.users.get(row.staff),
               last_visit=max((t.performed_on for t in row.treatments), default=None),
               full_name=row.full_name, phone=row.phone, wechat_id=row.wechat_id or None,
               email=row.email or None, birthday=row.birthday)
        for row in rows
    ]
    created = Client.objects.bulk_create(clients)
    # Assignment is a grant: the assigned stylist may open the whole record.
    access_services.grants_for_assignments(
        pairs=[(c.assigned_staff, c) for c in created if c.assigned_staff is not None])
    return created


def _insert_details(rows: list[ClientRow], ctx: _Context) -> None:
    BeautyProfile.objects.bulk_create(
        BeautyProfile(client_id=row.id, **row.profile) for row in rows if row.profile)
    HealthNote.objects.bulk_create(
        HealthNote(client_id=row.id, **row.health) for row in rows if row.health)
    Treatment.objects.bulk_create(
        Treatment(id=t.id, client_id=row.id, performed_on=t.performed_on,
                  staff=ctx.users.get(t.staff), service=t.service, products=list(t.products),
                  colour_formula=t.colour_formula or None, notes=t.notes or None, price=t.price)
        for row in rows for t in row.treatments)


def _attach_files(rows: list[ClientRow], clients: list[Client], ctx: _Context) -> None:
    for row, client in zip(rows, clients, strict=True):
        if not row.treatments or (ctx.photos_left <= 0 and ctx.forms_left <= 0):
            continue
        first = row.treatments[-1]  # treatments run newest first
        staff = ctx.users.get(first.staff)
        if ctx.photos_left > 0:
            ctx.photos_left -= 1
            for kind in (Photo.Kind.BEFORE, Photo.Kind.AFTER):
                _add_photo(client, first, staff, kind, ctx)
        if ctx.forms_left > 0:
            ctx.forms_left -= 1
            _add_form(client, first, staff, ctx)


def _add_photo(client: Client, first: TreatmentRow, staff: User | None, kind: str,
               ctx: _Context) -> None:
    data = demo_jpeg(seed=ctx.seed, index=ctx.result.photos // 2, kind=kind)
    # The thumbnail is made here rather than by the Celery task photo_add queues: the
    # demo must look complete even before a worker has started.
    Photo.objects.create(client=client, treatment_id=first.id, kind=kind,
                         taken_on=first.performed_on, uploaded_by=staff, image=data,
                         thumbnail=uploads.thumbnail(data), content_type="image/jpeg",
                         byte_size=len(data), width=320, height=320)
    ctx.result.photos += 1


def _add_form(client: Client, first: TreatmentRow, staff: User | None,
              ctx: _Context) -> None:
    data = demo_pdf(lines=("Salon Vault - consent form (demo)", f"Client code: {client.code}",
                           "Service: hair colour / skin treatment",
                           "Patch test 48 hours before: done",
                           f"Signed on: {first.performed_on.isoformat()}"))
    ClientForm.objects.create(client=client, kind=ClientForm.Kind.CONSENT,
                              signed_on=first.performed_on, uploaded_by=staff, document=data,
                              content_type="application/pdf", byte_size=len(data))
    ctx.result.forms += 1
