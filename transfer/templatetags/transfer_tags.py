"""The package's record counts with their names in the reader's language."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

RECORD_TYPES = {
    "client": _("clients"), "provenance": _("provenance records"), "consent": _("consents"),
    "beauty_profile": _("skin and hair profiles"), "health_note": _("health notes"),
    "patch_test": _("patch tests"), "treatment": _("treatments"), "photo": _("photos"),
    "form": _("signed forms"),
}


@register.filter
def record_counts(counts: dict | None) -> str:
    """"clients 2, treatments 3, …" in the order of the record, unknown types last."""
    counts = counts or {}
    order = [k for k in RECORD_TYPES if k in counts] + sorted(set(counts) - set(RECORD_TYPES))
    return ", ".join(f"{RECORD_TYPES.get(k, k)} {counts[k]}" for k in order)
