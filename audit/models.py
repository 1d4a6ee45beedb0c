from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AccessEvent(models.Model):
    """One access to client data, or one security-relevant action. Never holds plaintext.

    Events form a hash chain: `hash` covers the canonical form of the event including
    `prev_hash`, the hash of the event before it. The table is append-only in the database.
    """

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("allowed")
        DENIED = "denied", _("denied")

    seq = models.BigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("time"), default=timezone.now)
    # No index of its own: (actor, seq) below leads with it.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+", db_index=False)
    actor_label = models.CharField(_("actor"), max_length=150)
    role = models.CharField(_("role"), max_length=32, blank=True)
    action = models.CharField(_("action"), max_length=64)
    client_id = models.UUIDField(_("client"), null=True, blank=True)
    client_code = models.CharField(_("client code"), max_length=40, blank=True)
    location_code = models.CharField(_("location"), max_length=16, blank=True)
    subjects = models.JSONField(default=list, blank=True)
    data_class = models.PositiveSmallIntegerField(_("data class"), default=0)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    break_glass = models.BooleanField(_("break-glass"), default=False)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    request_id = models.CharField(_("request id"), max_length=32, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        # Every index costs each append; each one here serves an auditor's query
        # (audit.selectors) and grows at its right edge (seq and time only increase), so an
        # append touches pages already in memory. Rare outcomes are partial indexes,
        # touched only by the events they hold. The location filter needs none: both
        # branches are common. Which events name a client (by id or code) is looked up in
        # EventSubject, filled after the fact: an index on a client id takes a random page
        # for every event, which cost more than the rest of the append together.
        indexes = [
            models.Index(fields=["at", "seq"], name="audit_at_seq"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
            models.Index(fields=["action", "seq"], name="audit_action_seq"),
            models.Index(fields=["seq"], name="audit_denied_seq",
                         condition=models.Q(outcome="denied")),
            models.Index(fields=["seq"], name="audit_glass_seq",
                         condition=models.Q(break_glass=True)),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


class ChainHead(models.Model):
    """The last link of the chain; its row lock serialises writers so the chain never forks."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class Checkpoint(models.Model):
    """A signed statement of the chain's link just before the oldest kept event.

    Written when old events are pruned by retention, so the chain that remains can still be
    verified from a trusted start.
    """

    seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    pruned = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"


class PrunePermit(models.Model):
    """While a row here covers an event's seq, the database lets retention delete it."""

    up_to_seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"prune ≤ #{self.up_to_seq}"


class VerificationRun(models.Model):
    """The result of one `audit_verify`, shown to auditors.

    A run that found the chain intact signs the last link it verified (`last_seq`,
    `last_hash`), so the next run may verify only the events after it (incremental), and
    trusts that link only with a valid signature.
    """

    at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    checked = models.BigIntegerField(default=0)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=300)
    seconds = models.FloatField(default=0)
    full = models.BooleanField(default=True)
    start_seq = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(null=True, blank=True)
    last_hash = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=16, blank=True)
    signature = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"verify {'ok' if self.ok else 'BROKEN'} at {self.at}"


class Alert(models.Model):
    """A hit of an anomaly rule, for owners and auditors to acknowledge and resolve."""

    class Rule(models.TextChoices):
        MANY_CLIENTS = "many_clients", _("Unusually many clients opened in an hour")
        OFF_HOURS = "off_hours", _("Access outside opening hours")
        DENIALS = "denials", _("Repeated denials")
        BREAK_GLASS = "break_glass", _("Break-glass access")
        UNASSIGNED = "unassigned", _("Opening clients not assigned")
        LARGE_EXPORT = "large_export", _("Large export")
        INTEGRITY = "integrity", _("Damaged record value")

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("state", "Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.CharField(_("rule"), max_length=20, choices=Rule.choices)
    key = models.CharField(max_length=120, unique=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("actor"), max_length=150)
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True, db_index=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    detail = models.JSONField(default=dict, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN,
                             db_index=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("alert")

    def __str__(self) -> str:
        return f"{self.rule} {self.actor_label} {self.window_start:%Y-%m-%d %H:%M}"


class EventSubject(models.Model):
    """Index of the clients each event names: the client it opened (with its code) and the
    clients a list or search showed, so a client's history finds them all.

    Derived from the events' own `client_id`, `client_code` and `subjects` (which the chain
    covers), filled in after the fact by `audit.subject_index.catch_up`: from Celery beat
    every minute, and before any query that reads it. Recording an event therefore writes
    one row and touches no index keyed by client.
    """

    event = models.ForeignKey(AccessEvent, on_delete=models.CASCADE, related_name="+")
    client_id = models.UUIDField()
    code = models.CharField(max_length=40, blank=True, default="")  # the event's client_code

    class Meta:
        indexes = [
            models.Index(fields=["client_id", "event"], name="audit_subject_client"),
            models.Index(fields=["code", "event"], name="audit_subject_code",
                         condition=~models.Q(code="")),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} in #{self.event_id}"


class SubjectIndexState(models.Model):
    """How far EventSubject has been filled: the subjects of every event up to `seq`."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"subjects indexed up to #{self.seq}"
