from django.urls import path

from . import views

app_name = "transfer"

urlpatterns = [
    path("", views.case_list, name="cases"),
    path("new/", views.case_new, name="case_new"),
    path("template/", views.checklist_template, name="checklist_template"),
    path("<uuid:pk>/", views.case_detail, name="case"),
    path("<uuid:pk>/checklist/<uuid:item_pk>/", views.checklist_entry, name="checklist_entry"),
    path("<uuid:pk>/evidence/<uuid:entry_pk>/", views.evidence, name="evidence"),
    path("<uuid:pk>/notices.csv", views.notices_csv, name="notices_csv"),
    path("<uuid:pk>/approve/", views.approve, name="approve"),
    path("<uuid:pk>/package/<uuid:package_pk>/progress/", views.package_progress,
         name="package_progress"),
    path("<uuid:pk>/package/<uuid:package_pk>/download/", views.package_download,
         name="package_download"),
    path("<uuid:pk>/receipt/", views.receipt_upload, name="receipt_upload"),
    path("<uuid:pk>/destroy/", views.destroy_copies, name="destroy_copies"),
    path("<uuid:pk>/certificate.json", views.certificate, name="certificate"),
    path("<uuid:pk>/export.json", views.case_export, name="case_export"),
]
