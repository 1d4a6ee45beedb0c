"""The project's URLs plus the plaintext twin pages, for the benchmark only."""

from django.urls import include, path

from salon_vault.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("bench/plain/clients/", include("bench.plainapp.urls")),
]
