from django.contrib import admin

from .models import AccessEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """The admin may look; changes go through the services (and so into the chain)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_label", "role", "action", "client_id", "outcome")
    list_filter = ("action", "outcome", "role")
