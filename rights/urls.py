from django.urls import include, path

from . import views

app_name = "rights"

urlpatterns = [
    path("requests/", views.request_list, name="requests"),
    path("requests/new/<uuid:pk>/", views.request_new, name="request_new"),
    path("requests/<uuid:pk>/", views.request_detail, name="request_detail"),
    path("requests/<uuid:pk>/copy/", views.request_copy, name="request_copy"),
    path("notice/", views.notice_admin, name="notice_admin"),
    path("clients/<uuid:pk>/link/", views.client_link, name="client_link"),
    path("clients/<uuid:pk>/consent/", views.consent_record, name="consent_record"),
    path("complaints/", include("rights.complaint_urls")),
]
