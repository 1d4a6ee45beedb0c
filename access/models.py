from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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


class LocationPolicy(models.Model):
    """An owner's tightening of a role's ceiling at one location (never a loosening)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="policies")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    ceiling = models.PositiveSmallIntegerField(_("highest data class"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "role"], name="one_policy_per_role")]
        verbose_name = _("location policy")

    def __str__(self) -> str:
        return f"{self.location.code}:{self.role}≤L{self.ceiling}"


class Grant(models.Model):
    """The ledger of an object-level grant; django-guardian holds the permission itself."""

    class Source(models.TextChoices):
        ASSIGNMENT = "assignment", _("Assigned client")
        MANUAL = "manual", _("Granted by owner")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="grants")
    client_id = models.UUIDField()
    # The client's location (clients do not move): the few grants a person holds outside
    # their own location are found without reading the many inside it.
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "revoked_at"]),
            # "Does this user hold a grant on this client?", asked row by row by list filters.
            models.Index(fields=["client_id", "user"], name="access_grant_client_user"),
            models.Index(fields=["user", "location"], name="access_grant_user_location"),
        ]
        verbose_name = _("grant")

    def __str__(self) -> str:
        return f"grant {self.user_id}→{self.client_id}"


class BreakGlass(models.Model):
    """An opening beyond the user's ceiling, for a stated reason, for a bounded time."""

    class Verdict(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        JUSTIFIED = "justified", _("Justified")
        UNJUSTIFIED = "unjustified", _("Not justified")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="break_glass")
    client_id = models.UUIDField(db_index=True)
    client_code = models.CharField(max_length=40)
    reason = models.TextField(_("reason"))
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=12, choices=Verdict.choices, default=Verdict.PENDING,
                               db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("break-glass access")

    def __str__(self) -> str:
        return f"break-glass {self.user_id}→{self.client_code}"


class Agreement(models.Model):
    """A version of the confidentiality agreement staff must accept."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["-version"]
        verbose_name = _("confidentiality agreement")

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"


class AgreementAcceptance(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="acceptances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="agreement_acceptances")
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agreement", "user"], name="accept_once")]

    def __str__(self) -> str:
        return f"{self.user_id} accepted v{self.agreement_id}"


class TrainingRecord(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="training_records")
    course = models.CharField(_("course"), max_length=200)
    completed_on = models.DateField(_("completed on"))
    expires_on = models.DateField(_("valid until"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-expires_on"]
        verbose_name = _("privacy training")

    def __str__(self) -> str:
        return f"{self.course} until {self.expires_on}"


class StaffSession(models.Model):
    """Which sessions belong to whom, so offboarding can end them at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="staff_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class AccessReview(models.Model):
    """A periodic review of every staff member's grants by the owners."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("state", "Open")
        CLOSED = "closed", _("Closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    period = models.CharField(_("period"), max_length=20, unique=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    deadline = models.DateTimeField(_("deadline"))
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("access review")

    def __str__(self) -> str:
        return f"access review {self.period}"


class AccessReviewItem(models.Model):
    class Decision(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired unconfirmed")

    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="items")
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="review_items")
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "grant"], name="one_item_per_grant")]

    def __str__(self) -> str:
        return f"{self.review_id}:{self.grant_id}={self.decision}"


class Invitation(models.Model):
    """A single-use, expiring link on which a person sets their own password and enrols
    their second factor: to join, or to start again after a lost password or phone.

    Only a hash of the token is kept; the link is shown to the owner once, when issued.
    """

    class Kind(models.TextChoices):
        INVITE = "invite", _("Invitation")
        RESET = "reset", _("Reset of password and second factor")

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("invitation", "Open")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Replaced by a newer link")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="invitations")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["state", "expires_at"])]
        verbose_name = _("invitation")

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} ({self.state})"
