from django.urls import path

from . import invitation_views, views

app_name = "access"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("people/", views.staff_list, name="staff_list"),
    path("people/new/", invitation_views.staff_invite, name="staff_create"),
    path("people/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("people/<int:pk>/role/", views.staff_role, name="staff_role"),
    path("people/<int:pk>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("people/<int:pk>/reactivate/", views.staff_reactivate, name="staff_reactivate"),
    path("people/<int:pk>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("people/<int:pk>/reset/", invitation_views.staff_reset, name="staff_reset"),
    path("people/<int:pk>/training/", views.staff_training, name="staff_training"),
    path("people/<int:pk>/grants/", views.grant_give, name="grant_give"),
    path("grants/<uuid:grant_pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("break-glass/<uuid:pk>/", views.break_glass_review, name="break_glass_review"),
    path("reviews/<uuid:pk>/", views.access_review, name="access_review"),
    path("policies/", views.location_policies, name="policies"),
    path("agreement/new/", views.agreement_publish, name="agreement_publish"),
]
