from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.events, name="events"),
    path("people/<int:user_id>/", views.person_timeline, name="person"),
    path("clients/<str:code>/", views.client_history, name="client"),
    path("charts/", views.charts, name="charts"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export_csv"),
    path("export.jsonl", views.export, {"fmt": "jsonl"}, name="export_jsonl"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<uuid:pk>/", views.alert_detail, name="alert"),
    path("alerts/<uuid:pk>/acknowledge/", views.alert_act, {"step": "acknowledge"},
         name="alert_acknowledge"),
    path("alerts/<uuid:pk>/resolve/", views.alert_act, {"step": "resolve"}, name="alert_resolve"),
    path("who-saw/", views.subject_report, name="subject_report"),
]
