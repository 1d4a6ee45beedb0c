"""The admin shows structure, never plaintext: encrypted fields print ‹sealed› here."""

from django.contrib import admin

from audit.admin import ReadOnlyAdmin

from .models import Client, Treatment


@admin.register(Client)
class ClientAdmin(ReadOnlyAdmin):
    list_display = ("code", "location", "full_name", "phone", "last_visit")
    list_filter = ("location",)
    search_fields = ("code",)
    readonly_fields = ("code", "location", "assigned_staff", "last_visit", "full_name", "phone",
                       "email", "birthday")
    fields = readonly_fields


@admin.register(Treatment)
class TreatmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "client", "performed_on", "service")
