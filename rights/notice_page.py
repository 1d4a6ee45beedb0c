"""What the privacy notice shows beside its text, read from where it is kept: the purposes
(consent purposes), the data categories (data classes) and the retention periods (the
retention policies), so nothing is typed twice."""

from __future__ import annotations

from django.utils.translation import gettext as _

from records import retention
from records.models import ConsentEvent


def facts() -> dict:
    policies = {p.key: p for p in retention.policies()}
    return {
        "purposes": [(value, label) for value, label in ConsentEvent.Purpose.choices],
        "categories": [
            (_("Contact details"), _("name, phone, WeChat ID, email, birthday")),
            (_("Beauty profile and treatments"),
             _("skin type, hair, concerns, services, products, colour formulas, prices")),
            (_("Sensitive personal information"),
             _("allergies, contraindications, medication, pregnancy, medical conditions, "
               "before/after photos of your face, signed forms")),
        ],
        "retention": [
            (_("Your whole record"), policies["client"].years if "client" in policies else None,
             policies["client"].enabled if "client" in policies else False),
            (_("Photos"), policies["photos"].years if "photos" in policies else None,
             policies["photos"].enabled if "photos" in policies else False),
            (_("Health notes"), policies["health"].years if "health" in policies else None,
             policies["health"].enabled if "health" in policies else False),
        ],
    }
