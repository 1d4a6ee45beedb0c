"""The sale of the business: a transfer case, its NDA checklist, the owners' approvals, the
clients' objections, and the package handed to the buyer (PIPL Art. 22).

Nothing here holds a client's plaintext. A checklist entry's note and evidence file are
sealed under the case's own data key (the case id is its vault subject), so destroying
the case's key destroys them too.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from records.models import PersonalData
from vault.classes import DataClass
from vault.fields import EncryptedFileField, EncryptedTextField

L3 = DataClass.L3


class State(models.TextChoices):
    DRAFT = "draft", _("draft")
    CHECKLIST = "checklist", _("checklist")
    NOTICE = "notice", _("notice period")
    APPROVAL = "approval", _("approval")
    PACKAGED = "packaged", _("packaged")
    DELIVERED = "delivered", _("delivered")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    DESTROYED = "destroyed", _("seller copy destroyed")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")


class Basis(models.TextChoices):
    NOTICE = "notice", _("Notice to every client (PIPL Art. 22)")
    CONSENT = "consent", _("Each client's consent to the transfer")


class Part(models.TextChoices):
    """What of a client's record goes to the buyer. Health notes and photos go only for
    clients who consented to them separately."""

    CONTACT = "contact", _("Contact details")
    BEAUTY = "beauty", _("Skin and hair profile")
    TREATMENTS = "treatments", _("Treatments and colour formulas")
    HEALTH = "health", _("Health notes, allergies and patch tests")
    PHOTOS = "photos", _("Before/after photos")
    FORMS = "forms", _("Signed forms")


class TransferCase(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=200)
    state = models.CharField(_("state"), max_length=12, choices=State.choices,
                             default=State.DRAFT, db_index=True)
    # The scope: no location codes means the whole business.
    location_codes = models.JSONField(_("locations"), default=list, blank=True)
    parts = models.JSONField(_("what is transferred"), default=list)
    basis = models.CharField(_("legal basis"), max_length=10, choices=Basis.choices,
                             default=Basis.NOTICE)
    # Bumped by every change to the scope: approvals name the revision they approved.
    scope_revision = models.PositiveIntegerField(default=1)
    # The recipient, and its age public key confirmed out of band.
    recipient_name = models.CharField(_("recipient (legal name)"), max_length=200)
    recipient_contact = models.CharField(_("recipient's contact"), max_length=300)
    recipient_key = models.CharField(_("recipient's public key"), max_length=200)
    recipient_fingerprint = models.CharField(max_length=64, blank=True)
    key_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    key_confirmed_at = models.DateTimeField(null=True, blank=True)
    key_confirmed_how = models.CharField(_("how the key was confirmed"), max_length=300,
                                         blank=True)
    objection_days = models.PositiveSmallIntegerField(_("days to object"), default=30)
    notices_from = models.DateField(null=True, blank=True)
    objection_until = models.DateField(null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    cancel_reason = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("transfer case")

    def __str__(self) -> str:
        return f"transfer case {self.id} ({self.state})"

    @property
    def whole_business(self) -> bool:
        return not self.location_codes


class ChecklistItem(models.Model):
    """One item of the case's NDA checklist: a default (by key) or one an owner added."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(TransferCase, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=40)
    label = models.CharField(_("item"), max_length=300, blank=True)  # an added item's text
    position = models.PositiveSmallIntegerField(default=0)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["position", "key"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="one_item_per_key")]

    def __str__(self) -> str:
        return f"checklist item {self.key}"


class ChecklistEntry(PersonalData):
    """An entry on an item, never changed: the latest says whether the item is done; a
    correction is a new entry. The note and the evidence are sealed under the case's key."""

    VAULT_SUBJECT_FIELD = "case_id"

    class Status(models.TextChoices):
        DONE = "done", _("done")
        REOPENED = "reopened", _("reopened")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(TransferCase, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="entries")
    status = models.CharField(max_length=10, choices=Status.choices)
    at = models.DateTimeField(db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    note = EncryptedTextField(_("note"), data_class=L3)
    evidence = EncryptedFileField(data_class=L3)
    evidence_name = models.CharField(max_length=200, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    evidence_bytes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"checklist entry {self.id} ({self.status})"


class Approval(models.Model):
    """An owner's approval of one scope revision, given after the password and a code."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(TransferCase, on_delete=models.CASCADE, related_name="approvals")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    scope_revision = models.PositiveIntegerField()
    at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"approval of case {self.case_id} revision {self.scope_revision}"


class Objection(models.Model):
    """A client's answer to the notice: keep me with the seller, or delete me instead."""

    class Kind(models.TextChoices):
        OBJECT = "object", _("I object: keep my record out of the transfer")
        DELETE = "delete", _("Delete my record instead of transferring it")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(TransferCase, on_delete=models.CASCADE, related_name="objections")
    client_id = models.UUIDField(db_index=True)
    client_code = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField()
    channel = models.CharField(max_length=20, default="client_page")
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"objection of {self.client_code} to case {self.case_id}"


class Notice(models.Model):
    """A client told of the transfer: when, in which language, with which link."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(TransferCase, on_delete=models.CASCADE, related_name="notices")
    client_id = models.UUIDField(db_index=True)
    client_code = models.CharField(max_length=40)
    link_id = models.UUIDField()
    language = models.CharField(max_length=10)
    made_at = models.DateTimeField()

    class Meta:
        ordering = ["client_code"]
        constraints = [models.UniqueConstraint(fields=["case", "client_id"],
                                               name="one_notice_per_client")]

    def __str__(self) -> str:
        return f"transfer notice to {self.client_code}"


class Package(models.Model):
    """The sealed package for the recipient: built by a task, downloaded once."""

    class Status(models.TextChoices):
        BUILDING = "building", _("being built")
        READY = "ready", _("ready to download")
        DOWNLOADED = "downloaded", _("downloaded")
        EXPIRED = "expired", _("expired")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(TransferCase, on_delete=models.CASCADE, related_name="packages")
    scope_revision = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BUILDING)
    started_at = models.DateTimeField(auto_now_add=True)
    made_at = models.DateTimeField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=120, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    byte_size = models.PositiveBigIntegerField(default=0)
    # The signed manifest's facts: package id, counts and hashes; no personal data.
    manifest = models.JSONField(default=dict, blank=True)
    clients = models.JSONField(default=list, blank=True)  # the ids packaged
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    downloaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"transfer package {self.id} ({self.status})"


class Receipt(models.Model):
    """The recipient's signed receipt (made by `transfer_import`), uploaded to the case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField(TransferCase, on_delete=models.CASCADE, related_name="receipt")
    package = models.ForeignKey(Package, on_delete=models.PROTECT, related_name="+")
    statement = models.JSONField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField()
    destroy_after = models.DateField()
    certificate = models.JSONField(null=True, blank=True)  # the signed certificate of the
    # seller's copies destroyed

    def __str__(self) -> str:
        return f"receipt for case {self.case_id}"


class ImportedPackage(models.Model):
    """On the receiving side: a package imported here, once (a replay is refused)."""

    package_id = models.UUIDField(primary_key=True)
    case_id = models.UUIDField()
    seller = models.CharField(max_length=200)
    seller_fingerprint = models.CharField(max_length=64)
    manifest_sha256 = models.CharField(max_length=64)
    counts = models.JSONField(default=dict)
    location_code = models.CharField(max_length=16)
    imported_at = models.DateTimeField()
    receipt = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"imported package {self.package_id}"


class ChecklistTemplateItem(models.Model):
    """An item the owners added to the checklist every new case starts with (beside the
    defaults); taking one out leaves the cases that have it as they are."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    label = models.CharField(_("item"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "added_at"]

    def __str__(self) -> str:
        return f"checklist template item {self.label[:40]}"
