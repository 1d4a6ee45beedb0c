"""Complaints and feedback, under /rights/complaints/ (names in the "rights" namespace)."""

from django.urls import path

from . import complaint_views as views

urlpatterns = [
    path("", views.complaint_list, name="complaints"),
    path("new/", views.complaint_new, name="complaint_new"),
    path("summary/", views.complaint_summary, name="complaint_summary"),
    path("summary.csv", views.complaint_summary_csv, name="complaint_summary_csv"),
    path("<uuid:pk>/", views.complaint_detail, name="complaint_detail"),
    path("<uuid:pk>/assign/", views.complaint_assign, name="complaint_assign"),
    path("<uuid:pk>/resolve/", views.complaint_resolve, name="complaint_resolve"),
]
