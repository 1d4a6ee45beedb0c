from django.urls import path

from . import contraindication_views, import_views, views

app_name = "records"

urlpatterns = [
    path("", views.client_list, name="client_list"),
    path("new/", views.client_create, name="client_create"),
    path("import/", import_views.import_upload, name="import"),
    path("import/confirm/", import_views.import_confirm, name="import_confirm"),
    path("products/", contraindication_views.product_list, name="product_list"),
    path("products/new/", contraindication_views.product_create, name="product_create"),
    path("products/<uuid:pk>/edit/", contraindication_views.product_edit, name="product_edit"),
    path("<uuid:pk>/", views.client_detail, name="client_detail"),
    path("<uuid:pk>/edit/", views.client_edit, name="client_edit"),
    path("<uuid:pk>/break-glass/", views.break_glass, name="break_glass"),
    path("<uuid:pk>/rekey/", views.client_rekey, name="client_rekey"),
    path("<uuid:pk>/destroy/", views.client_destroy, name="client_destroy"),
    path("destructions/", views.destruction_list, name="destructions"),
    path("retention/", views.retention_page, name="retention"),
    path("retention/policy/", views.retention_policy, name="retention_policy"),
    path("retention/<uuid:pk>/", views.retention_decide, name="retention_decide"),
    path("retention/holds/", views.legal_hold_place, name="legal_hold_place"),
    path("retention/holds/<uuid:pk>/lift/", views.legal_hold_lift, name="legal_hold_lift"),
    path("destructions/<uuid:pk>/", views.destruction_detail, name="destruction_detail"),
    path("destructions/<uuid:pk>/certificate.json", views.destruction_certificate,
         name="destruction_certificate"),
    path("destructions/<uuid:pk>/certificate.pdf", views.destruction_certificate_pdf,
         name="destruction_certificate_pdf"),
    path("<uuid:pk>/assign/", views.client_assign, name="client_assign"),
    path("<uuid:pk>/treatments/new/", views.treatment_add, name="treatment_add"),
    path("<uuid:pk>/patch-tests/new/", contraindication_views.patch_test_add,
         name="patch_test_add"),
    path("<uuid:pk>/photos/new/", views.photo_add, name="photo_add"),
    path("<uuid:pk>/photos/<uuid:photo_pk>/", views.photo_view, name="photo_view"),
    path("<uuid:pk>/forms/new/", views.form_add, name="form_add"),
    path("<uuid:pk>/forms/<uuid:form_pk>/", views.form_view, name="form_view"),
]
