from django.urls import path

from . import views

app_name = "lifecycle"

urlpatterns = [
    path("", views.job_list, name="jobs"),
    path("runs/<uuid:run_id>/progress/", views.run_progress, name="run_progress"),
    path("<str:name>/", views.job_detail, name="job_detail"),
    path("<str:name>/start/", views.job_start, name="job_start"),
]
