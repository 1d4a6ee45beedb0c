from django.contrib import admin

from .models import Location, StaffProfile

admin.site.register(Location)


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "location")
    list_filter = ("role", "location")
