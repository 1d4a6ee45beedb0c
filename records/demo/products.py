"""The demo salon's product catalogue: products its services use (vocabulary.SERVICES), with
the allergens and patch tests the contraindication check stops a treatment for."""

from __future__ import annotations

from typing import NamedTuple

from ..models import Product

DYE_ALLERGENS = "PPD, 对苯二胺, para-phenylenediamine, 染发剂"


class DemoProduct(NamedTuple):
    name: str
    allergens: str = ""
    needs_patch_test: bool = False
    patch_test_valid_days: int = 180


PRODUCTS = (
    DemoProduct("欧莱雅专业 染膏", DYE_ALLERGENS, needs_patch_test=True),
    DemoProduct("威娜 Koleston 染膏", DYE_ALLERGENS, needs_patch_test=True),
    DemoProduct("施华蔻 IGORA 染膏", DYE_ALLERGENS, needs_patch_test=True),
    DemoProduct("欧莱雅专业 双氧乳", "过氧化氢, hydrogen peroxide"),
    DemoProduct("施华蔻 漂粉", "过硫酸盐, persulfate"),
    DemoProduct("资生堂 水之密语烫发水", "巯基乙酸, thioglycolate"),
    DemoProduct("低敏嫁接胶", "氰基丙烯酸酯, cyanoacrylate, 睫毛胶", needs_patch_test=True,
                patch_test_valid_days=90),
    DemoProduct("OPI 甲油胶", "丙烯酸酯, acrylate, HEMA"),
    DemoProduct("卡诗 滋养洗发水"),
    DemoProduct("施华蔻 定型喷雾", "香精, fragrance"),
    DemoProduct("雅漾 舒护活泉水"),
    DemoProduct("Olaplex 3号"),
)


def demo_products_ensure() -> int:
    """Add the demo products the catalogue lacks; returns how many. A product already
    there (by name) is left as the salon has edited it."""
    added = 0
    for spec in PRODUCTS:
        _product, created = Product.objects.get_or_create(name=spec.name,
                                                          defaults=spec._asdict())
        added += created
    return added
