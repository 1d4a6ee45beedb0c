from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from audit import people

        from . import models, signals  # noqa: F401  (signals connects the auth receivers)

        people.register(display_names)

        for model in (models.StaffProfile, models.Grant, models.LocationPolicy, models.Location,
                      models.BreakGlass, models.TrainingRecord):
            auditlog.register(model, exclude_fields=["reason", "review_note"]
                              if model is models.BreakGlass else None)


def display_names(user_ids) -> dict[int, str]:
    """Staff display names for the audit pages (people appear by name, not username)."""
    from .models import StaffProfile

    rows = (StaffProfile.objects.filter(user_id__in=list(user_ids)).exclude(display_name="")
            .values_list("user_id", "display_name"))
    return dict(rows)
