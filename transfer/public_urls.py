from django.urls import path

from . import public_views

app_name = "transfer_public"

urlpatterns = [
    path("c/<str:token>/transfer/<uuid:case_pk>/", public_views.answer, name="answer"),
]
