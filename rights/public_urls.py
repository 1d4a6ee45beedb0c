"""Pages anyone may open: the privacy notice, and a client's own page by signed link."""

from django.urls import path

from . import public_views

app_name = "public"

urlpatterns = [
    path("privacy/", public_views.notice, name="notice"),
    path("privacy/v<int:version>/", public_views.notice, name="notice_version"),
    path("c/<str:token>/", public_views.client_page, name="client_page"),
    path("c/<str:token>/notice/", public_views.acknowledge, name="acknowledge"),
    path("c/<str:token>/consent/", public_views.consent_view, name="consent"),
    path("c/<str:token>/request/", public_views.rights_request, name="rights_request"),
    path("c/<str:token>/complaint/", public_views.complaint, name="complaint"),
    path("c/<str:token>/copy/<uuid:pk>/", public_views.copy_download, name="copy_download"),
]
