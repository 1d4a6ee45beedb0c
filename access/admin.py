"""Django's admin is not a back door.

It asks for the same second factor as the salon's pages (django-otp's OTPAdminSite), shows
no secret (authenticator keys, recovery codes, sign-in attempts are not registered), and
changes no role, grant or gate: those go through the owner's pages and access.services,
so that every change lands in the audit chain. Here they are read-only, with a link there.
"""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.admin import ReadOnlyAdmin

from .models import Agreement, Grant, Location, LocationPolicy, StaffProfile, TrainingRecord

# The documented way to put the default site behind the second factor: an unverified
# user is treated as if they were not staff, and the admin's sign-in asks for a code.
admin.site.__class__ = OTPAdminSite

for secret_bearing in (TOTPDevice, StaticDevice, AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(secret_bearing):
        admin.site.unregister(secret_bearing)

# The jobs that sign and verify the audit chain, expire grants and so on are declared in
# settings (CELERY_BEAT_SCHEDULE); nobody switches them off from the admin.
for schedule in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule,
                 ClockedSchedule):
    if admin.site.is_registered(schedule):
        admin.site.unregister(schedule)


def _owner_page(user_id) -> str:
    return format_html('<a href="{}">{}</a>', reverse("access:staff_detail", args=[user_id]),
                       _("Change on the owner's staff page"))


admin.site.register(Location)


@admin.register(StaffProfile)
class StaffProfileAdmin(ReadOnlyAdmin):
    list_display = ("user", "display_name", "role", "location", "owner_page")
    list_filter = ("role", "location")
    fields = readonly_fields = ("user", "display_name", "role", "location", "owner_page")

    @admin.display(description=_("Role, location and access"))
    def owner_page(self, obj):
        return _owner_page(obj.user_id)


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ("user", "client_id", "source", "granted_at", "expires_at", "revoked_at",
                    "owner_page")
    list_filter = ("source",)
    fields = readonly_fields = ("user", "client_id", "source", "granted_by", "granted_at",
                                "expires_at", "revoked_at", "revoked_reason", "owner_page")

    @admin.display(description=_("Grants"))
    def owner_page(self, obj):
        return _owner_page(obj.user_id)


@admin.register(TrainingRecord)
class TrainingRecordAdmin(ReadOnlyAdmin):
    list_display = ("user", "course", "completed_on", "expires_on", "owner_page")

    @admin.display(description=_("Training"))
    def owner_page(self, obj):
        return _owner_page(obj.user_id)


@admin.register(LocationPolicy)
class LocationPolicyAdmin(ReadOnlyAdmin):
    list_display = ("location", "role", "ceiling", "changed_at", "owner_page")

    @admin.display(description=_("Policies"))
    def owner_page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("access:policies"),
                           _("Change on the owner's policy page"))


@admin.register(Agreement)
class AgreementAdmin(ReadOnlyAdmin):
    list_display = ("version", "title", "published_at")


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(ReadOnlyAdmin, UserAdmin):
    """Accounts, read-only and without the password: people set their own on an invitation
    link, and activation goes through the owner's deactivate (which ends sessions and grants)."""

    fieldsets = (
        (None, {"fields": ("username", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    list_display = ("username", "email", "is_active", "is_staff", "last_login")
    filter_horizontal = ()
