"""Data classes: every personal field declares one; every role carries a ceiling."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataClass(models.IntegerChoices):
    NONE = 0, _("none")
    L1 = 1, _("L1 internal")
    L2 = 2, _("L2 contact")
    L3 = 3, _("L3 beauty record")
    L4 = 4, _("L4 sensitive")
