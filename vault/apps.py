from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class VaultConfig(AppConfig):
    name = "vault"
    verbose_name = _("Vault")

    def ready(self):
        checks.register(keyring_opens_the_vault, "vault")


def keyring_opens_the_vault(app_configs=None, **kwargs):
    """Management commands and runserver refuse to run over data their keyring cannot open."""
    from .guard import keyring_problem

    problem = keyring_problem()
    if problem is None:
        return []
    return [checks.Error(str(problem), id="vault.E001")]
