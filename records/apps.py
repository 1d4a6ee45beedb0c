from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = _("Client records")

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from auditlog.signals import post_log
        from django.db.models.signals import post_save, pre_save

        from access import clients
        from vault.fields import personal_field_names

        from . import changelog, directory, models

        clients.register(directory)

        # Changes are logged with the personal fields excluded: the log says a client was
        # changed and (in additional_data) which personal fields, never their values.
        for model in (models.Client, models.BeautyProfile, models.HealthNote,
                      models.Treatment, models.Photo, models.ClientForm):
            auditlog.register(model, exclude_fields=personal_field_names(model))
            pre_save.connect(changelog.log_personal_only_change, sender=model,
                             dispatch_uid=f"personal-change-{model.__name__}")
            post_save.connect(changelog.personal_saved, sender=model,
                              dispatch_uid=f"personal-saved-{model.__name__}")
        post_log.connect(changelog.note_logged, dispatch_uid="personal-change-noted")
        # The product catalogue decides which treatments the contraindication stop blocks:
        # who changed an allergen or a patch-test rule, and when, is kept.
        auditlog.register(models.Product)
