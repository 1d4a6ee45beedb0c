from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = _("Lifecycle jobs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schedule, signals  # noqa: F401 - connects the task signals

        post_migrate.connect(schedule.after_migrate, sender=self)
