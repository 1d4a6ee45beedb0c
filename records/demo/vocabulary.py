"""The demo salon's cast and words: branches, staff, services, and what the rows draw from."""

from __future__ import annotations

from dataclasses import dataclass

from access.models import Role

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
