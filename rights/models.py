"""Clients' rights requests and complaints (PIPL Arts. 44–50), with their deadlines.

Neither keeps plaintext: what the client wrote is sealed under the client's data key (so
destroying the client destroys it too), or, for a complaint with no client, under the
complaint's own key.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from records.models import PersonalData
from vault.classes import DataClass
from vault.fields import EncryptedJSONField, EncryptedTextField

L3, L4 = DataClass.L3, DataClass.L4


class Channel(models.TextChoices):
    CLIENT_PAGE = "client_page", _("the client's own page")
    IN_PERSON = "in_person", _("in person")
    PHONE = "phone", _("phone")
    EMAIL = "email", _("email or message")
    LETTER = "letter", _("letter")


class RightsRequest(PersonalData):
    VAULT_SUBJECT_FIELD = "client_id"

    class Kind(models.TextChoices):
        ACCESS = "access", _("See and copy my data")
        CORRECTION = "correction", _("Correct my data")
        DELETION = "deletion", _("Delete my data")
        RESTRICTION = "restriction", _("Restrict the use of my data")
        EXPLANATION = "explanation", _("Explain how my data is used")

    class State(models.TextChoices):
        RECEIVED = "received", _("received, identity to check")
        IN_PROGRESS = "in_progress", _("identity checked, in progress")
        DONE = "done", _("done")
        REFUSED = "refused", _("refused")

    class Identity(models.TextChoices):
        CLIENT_LINK = "client_link", _("made on the client's own signed link")
        ID_DOCUMENT = "id_document", _("identity document seen in person")
        KNOWN_PHONE = "known_phone", _("called back on the phone number on file")
        OTHER = "other", _("other (described in the note)")

    OPEN = (State.RECEIVED, State.IN_PROGRESS)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.UUIDField(db_index=True)
    client_code = models.CharField(_("client code"), max_length=40)
    kind = models.CharField(_("request"), max_length=12, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=12, choices=State.choices,
                             default=State.RECEIVED)
    channel = models.CharField(_("received by"), max_length=12, choices=Channel.choices)
    received_at = models.DateTimeField(_("received"), db_index=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    details = EncryptedTextField(_("what the client asks"), data_class=L3)
    due_on = models.DateField(_("due"), db_index=True)
    extended_to = models.DateField(_("extended to"), null=True, blank=True)
    extension_reason = models.CharField(_("reason for the extension"), max_length=500,
                                        blank=True)
    identity = models.CharField(_("identity check"), max_length=12, choices=Identity.choices,
                                blank=True)
    identity_note = models.CharField(_("identity note"), max_length=300, blank=True)
    identity_checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    identity_checked_at = models.DateTimeField(null=True, blank=True)
    response = EncryptedTextField(_("response to the client"), data_class=L3)
    # A correction's old and new values ({field: [old, new]}), sealed like the record.
    corrections = EncryptedJSONField(_("corrections"), data_class=L4)
    refusal_reason = models.CharField(_("reason for the refusal"), max_length=500, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    destruction = models.ForeignKey("records.Destruction", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    last_reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("rights request")
        verbose_name_plural = _("rights requests")
        ordering = ["due_on", "received_at"]
        indexes = [models.Index(fields=["state", "due_on"])]

    def __str__(self) -> str:
        return f"{self.kind} request of {self.client_code}"

    @property
    def deadline(self):
        return self.extended_to or self.due_on

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN


class Complaint(PersonalData):
    # Sealed under the client's key when the complaint names a client, else its own.
    VAULT_SUBJECT_FIELD = "subject_id"

    class Category(models.TextChoices):
        PRIVACY = "privacy", _("Privacy and personal data")
        SERVICE = "service", _("Service or treatment")
        STAFF = "staff", _("Staff conduct")
        BILLING = "billing", _("Prices and billing")
        OTHER = "other", _("Other")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    client_id = models.UUIDField(null=True, blank=True, db_index=True)
    client_code = models.CharField(_("client code"), max_length=40, blank=True)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    channel = models.CharField(_("received by"), max_length=12, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices,
                             default=State.OPEN)
    received_at = models.DateTimeField(_("received"), db_index=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    description = EncryptedTextField(_("complaint"), data_class=L3)
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("handled by"))
    due_on = models.DateField(_("due"), db_index=True)
    resolution = EncryptedTextField(_("resolution"), data_class=L3)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"complaint {self.id} ({self.category})"


class ClientLink(models.Model):
    """A client's own page, reached by a signed link that names this row: it expires, and
    staff can revoke it. The link carries no personal data."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.UUIDField(db_index=True)
    language = models.CharField(max_length=10, default="zh-hans")
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"client page link {self.id}"


class AccessCopy(models.Model):
    """A copy of a client's data made for an access request: an AES-256 ZIP sealed with a
    passphrase shown once to staff, downloadable once from the client's page or by staff,
    deleted after download or expiry."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(RightsRequest, on_delete=models.CASCADE, related_name="copy")
    file_name = models.CharField(max_length=80)
    sha256 = models.CharField(max_length=64)
    byte_size = models.PositiveBigIntegerField(default=0)
    made_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    downloaded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"copy for {self.request_id}"
