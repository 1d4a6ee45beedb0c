from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessEvent(models.Model):
    """One access to client data, or one security-relevant action. Never holds plaintext."""

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("allowed")
        DENIED = "denied", _("denied")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("actor"), max_length=150)
    role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    client_id = models.UUIDField(_("client"), null=True, blank=True, db_index=True)
    subjects = models.JSONField(default=list, blank=True)
    data_class = models.PositiveSmallIntegerField(_("data class"), default=0)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    break_glass = models.BooleanField(_("break-glass"), default=False)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    request_id = models.CharField(_("request id"), max_length=32, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        indexes = [models.Index(fields=["actor", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.outcome}"
