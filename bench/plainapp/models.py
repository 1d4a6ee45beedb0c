"""Plaintext twins of records.models: same fields, plain columns, same orderings and indexes.

The encrypted models index their blind-index columns (name, surname, phone, last four
digits, email); a plaintext app would index the searchable columns themselves, so the twins
index full_name, phone and email instead.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from records.models import ClientForm, Photo


class PlainClient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=40, unique=True)
    location = models.ForeignKey("access.Location", on_delete=models.PROTECT, related_name="+")
    assigned_staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    last_visit = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    full_name = models.CharField(max_length=100, null=True, blank=True, db_index=True)
    phone = models.CharField(max_length=40, null=True, blank=True, db_index=True)
    wechat_id = models.CharField(max_length=100, null=True, blank=True)
    email = models.CharField(max_length=254, null=True, blank=True, db_index=True)
    birthday = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["location", "code"])]

    def __str__(self) -> str:
        return self.code


class PlainBeautyProfile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.OneToOneField(PlainClient, on_delete=models.CASCADE, related_name="profile")
    skin_type = models.TextField(null=True, blank=True)
    hair = models.TextField(null=True, blank=True)
    concerns = models.TextField(null=True, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.client_id}"


class PlainHealthNote(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.OneToOneField(PlainClient, on_delete=models.CASCADE, related_name="health")
    allergies = models.TextField(null=True, blank=True)
    contraindications = models.TextField(null=True, blank=True)
    medication = models.TextField(null=True, blank=True)
    pregnancy = models.TextField(null=True, blank=True)
    conditions = models.TextField(null=True, blank=True)

    def __str__(self) -> str:
        return f"health notes of {self.client_id}"


class PlainTreatment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(PlainClient, on_delete=models.CASCADE, related_name="treatments")
    performed_on = models.DateField()
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    service = models.TextField(null=True, blank=True)
    products = models.JSONField(null=True, blank=True)
    colour_formula = models.TextField(null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-performed_on", "-created_at"]
        indexes = [models.Index(fields=["client", "performed_on"])]

    def __str__(self) -> str:
        return f"treatment {self.id}"


class PlainPhoto(models.Model):
    """Photo metadata; the image itself stays in the vault (pages only link to it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(PlainClient, on_delete=models.CASCADE, related_name="photos")
    treatment = models.ForeignKey(PlainTreatment, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="photos")
    kind = models.CharField(max_length=8, choices=Photo.Kind.choices, default=Photo.Kind.OTHER)
    taken_on = models.DateField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    image = models.CharField(max_length=64, blank=True, default="")
    thumbnail = models.CharField(max_length=64, blank=True, default="")
    content_type = models.CharField(max_length=40)
    byte_size = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-taken_on", "kind"]

    def __str__(self) -> str:
        return f"photo {self.id}"


class PlainClientForm(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(PlainClient, on_delete=models.CASCADE, related_name="forms")
    kind = models.CharField(max_length=16, choices=ClientForm.Kind.choices)
    signed_on = models.DateField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    document = models.CharField(max_length=64, blank=True, default="")
    content_type = models.CharField(max_length=40)
    byte_size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-signed_on"]

    def __str__(self) -> str:
        return f"form {self.id}"


# In dependency order, for the schema editor.
TWINS = (PlainClient, PlainBeautyProfile, PlainHealthNote, PlainTreatment, PlainPhoto,
         PlainClientForm)
