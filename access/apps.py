from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models, signals  # noqa: F401  (signals connects the auth receivers)

        for model in (models.StaffProfile, models.Grant, models.LocationPolicy, models.Location,
                      models.BreakGlass, models.TrainingRecord):
            auditlog.register(model, exclude_fields=["reason", "review_note"]
                              if model is models.BreakGlass else None)
