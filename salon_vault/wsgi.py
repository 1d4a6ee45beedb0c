import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salon_vault.settings")
application = get_wsgi_application()

# Never serve over data keys this keyring cannot open (a lost or regenerated keyring).
from vault.guard import refuse_to_start_without_keys  # noqa: E402

refuse_to_start_without_keys()
