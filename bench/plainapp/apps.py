from django.apps import AppConfig


class PlainAppConfig(AppConfig):
    name = "bench.plainapp"
    label = "plainapp"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Benchmark: plaintext twins of the record models"
