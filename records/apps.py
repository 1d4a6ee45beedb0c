from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = _("Client records")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from vault.fields import personal_field_names

        from . import models

        # Changes are logged with the personal fields excluded: the log says a client was
        # changed and (in additional_data) which personal fields, never their values.
        for model in (models.Client, models.BeautyProfile, models.HealthNote,
                      models.Treatment, models.Photo, models.ClientForm):
            auditlog.register(model, exclude_fields=personal_field_names(model))
