from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from access import account_views as access_account
from access import auth_views as access_auth
from access import views as access_views

urlpatterns = [
    path("", access_account.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/otp/", access_auth.otp_verify, name="otp_verify"),
    path("accounts/otp/setup/", access_auth.otp_setup, name="otp_setup"),
    path("accounts/reauth/", access_auth.reauth, name="reauth"),
    path("accounts/security/", access_account.account, name="account"),
    path("accounts/security/recovery-codes/", access_account.recovery_codes_new,
         name="recovery_codes_new"),
    path("accounts/invitation/<str:token>/", access_account.invitation_accept,
         name="invitation_accept"),
    path("agreement/", access_views.agreement, name="agreement"),
    path("staff/", include("access.urls")),
    path("audit/", include("audit.urls")),
    path("clients/", include("records.urls")),
    path("jobs/", include("lifecycle.urls")),
    path("rights/", include("rights.urls")),
    path("", include("rights.public_urls")),
    path("", include("transfer.public_urls")),
    path("transfer/", include("transfer.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
