from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransferConfig(AppConfig):
    name = "transfer"
    verbose_name = _("Transfer of the client base")

    def ready(self) -> None:
        from . import objections  # noqa: F401 - adds its section to the client's page
