from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Location(models.Model):
    """A branch of the salon business."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # The last client number handed out here; advanced with an atomic UPDATE.
    client_seq = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("location")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    STYLIST = "stylist", _("Stylist")
    BEAUTICIAN = "beautician", _("Beautician")
    RECEPTION = "reception", _("Receptionist")
    AUDITOR = "auditor", _("Auditor")


class StaffProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="staff")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="staff", verbose_name=_("location"))
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("staff member")

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()
