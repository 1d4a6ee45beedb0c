"""The spreadsheet columns we know: their titles in old systems' exports, their labels
in messages, and how long their values may be."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

# Column titles, compared after reading._title_key() folding; the keys are records.services names.
TITLES = {
    "full_name": ("姓名", "名字", "客户姓名", "name", "full name", "client name", "customer name"),
    "phone": ("手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "phone", "mobile",
              "phone number", "mobile phone", "tel"),
    "email": ("邮箱", "电子邮件", "电子邮箱", "email", "e-mail"),
    "birthday": ("生日", "出生日期", "birthday", "date of birth", "birth date", "dob"),
    "allergies": ("过敏", "过敏史", "allergies", "allergy"),
    # The client has no free notes field; notes become the beauty profile's concerns (L3).
    "concerns": ("备注", "notes", "note", "remarks"),
    "wechat_id": ("微信", "微信号", "wechat", "wechat id"),
    "skin_type": ("肤质", "skin type"),
    "hair": ("发质", "hair", "hair type"),
}
LABELS = {
    "full_name": gettext_lazy("Full name"), "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"), "birthday": gettext_lazy("Birthday"),
    "allergies": gettext_lazy("Allergies"), "concerns": gettext_lazy("Notes"),
    "wechat_id": gettext_lazy("WeChat ID"), "skin_type": gettext_lazy("Skin type"),
    "hair": gettext_lazy("Hair"),
}
MAX_LENGTHS = {"full_name": 100, "phone": 30, "email": 254, "wechat_id": 60, "skin_type": 200,
               "hair": 200, "concerns": 2000, "allergies": 2000}
