from django.urls import path

from . import views

app_name = "plain"

urlpatterns = [
    path("", views.client_list, name="client_list"),
    path("<uuid:pk>/", views.client_detail, name="client_detail"),
]
