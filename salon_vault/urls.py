from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from access import auth_views as access_auth
from access import views as access_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="records:client_list"), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/otp/", access_auth.otp_verify, name="otp_verify"),
    path("accounts/otp/setup/", access_auth.otp_setup, name="otp_setup"),
    path("accounts/reauth/", access_auth.reauth, name="reauth"),
    path("agreement/", access_views.agreement, name="agreement"),
    path("staff/", include("access.urls")),
    path("audit/", include("audit.urls")),
    path("clients/", include("records.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
