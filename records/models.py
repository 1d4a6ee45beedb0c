from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from vault import blind
from vault.classes import DataClass
from vault.fields import (
    BlindIndexField,
    EncryptedDateField,
    EncryptedDecimalField,
    EncryptedFileField,
    EncryptedJSONField,
    EncryptedTextField,
    changed_personal_fields,
)

L2, L3, L4 = DataClass.L2, DataClass.L3, DataClass.L4


class PersonalData(models.Model):
    """A model holding encrypted personal fields. For the change log it names which of them
    changed, never their values."""

    class Meta:
        abstract = True

    def get_additional_data(self) -> dict:
        return {"personal_fields_changed": changed_personal_fields(self)}


class Client(PersonalData):
    VAULT_SUBJECT_FIELD = "pk"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # L1: no personal content
    code = models.CharField(_("client code"), max_length=40, unique=True)
    location = models.ForeignKey("access.Location", on_delete=models.PROTECT,
                                 related_name="clients", verbose_name=_("location"))
    assigned_staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="assigned_clients",
                                       verbose_name=_("assigned staff"))
    last_visit = models.DateField(_("last visit"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # L2: contact
    full_name = EncryptedTextField(_("full name"), data_class=L2)
    phone = EncryptedTextField(_("phone"), data_class=L2)
    wechat_id = EncryptedTextField(_("WeChat ID"), data_class=L2)
    email = EncryptedTextField(_("email"), data_class=L2)
    birthday = EncryptedDateField(_("birthday"), data_class=L2)
    # Blind indexes for search
    name_bidx = BlindIndexField(source="full_name", kind=blind.NAME)
    surname_bidx = BlindIndexField(source="full_name", kind=blind.SURNAME)
    phone_bidx = BlindIndexField(source="phone", kind=blind.PHONE)
    phone_last4_bidx = BlindIndexField(source="phone", kind=blind.PHONE_LAST4)
    email_bidx = BlindIndexField(source="email", kind=blind.EMAIL)

    class Meta:
        ordering = ["code"]
        verbose_name = _("client")
        indexes = [models.Index(fields=["location", "code"])]

    def __str__(self) -> str:
        return self.code


class BeautyProfile(PersonalData):
    VAULT_SUBJECT_FIELD = "client_id"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="profile")
    skin_type = EncryptedTextField(_("skin type"), data_class=L3)
    hair = EncryptedTextField(_("hair"), data_class=L3)
    concerns = EncryptedTextField(_("concerns"), data_class=L3)

    class Meta:
        verbose_name = _("beauty profile")
        verbose_name_plural = _("beauty profiles")

    def __str__(self) -> str:
        return f"profile of {self.client_id}"


class HealthNote(PersonalData):
    VAULT_SUBJECT_FIELD = "client_id"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="health")
    allergies = EncryptedTextField(_("allergies"), data_class=L4)
    contraindications = EncryptedTextField(_("contraindications"), data_class=L4)
    medication = EncryptedTextField(_("medication"), data_class=L4)
    pregnancy = EncryptedTextField(_("pregnancy"), data_class=L4)
    conditions = EncryptedTextField(_("medical conditions"), data_class=L4)

    class Meta:
        verbose_name = _("health notes")
        verbose_name_plural = _("health notes")

    def __str__(self) -> str:
        return f"health notes of {self.client_id}"


class Treatment(PersonalData):
    VAULT_SUBJECT_FIELD = "client_id"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="treatments")
    performed_on = models.DateField(_("date"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+", verbose_name=_("staff"))
    created_at = models.DateTimeField(auto_now_add=True)
    service = EncryptedTextField(_("service"), data_class=L3)
    products = EncryptedJSONField(_("products"), data_class=L3)
    colour_formula = EncryptedTextField(_("colour formula"), data_class=L3)
    notes = EncryptedTextField(_("notes"), data_class=L3)
    price = EncryptedDecimalField(_("price"), data_class=L3)

    class Meta:
        verbose_name = _("treatment")
        verbose_name_plural = _("treatments")
        ordering = ["-performed_on", "-created_at"]
        indexes = [models.Index(fields=["client", "performed_on"])]

    def __str__(self) -> str:
        return f"treatment {self.id}"


class Photo(PersonalData):
    VAULT_SUBJECT_FIELD = "client_id"

    class Kind(models.TextChoices):
        BEFORE = "before", _("Before")
        AFTER = "after", _("After")
        OTHER = "other", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="photos")
    treatment = models.ForeignKey(Treatment, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="photos")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.OTHER)
    taken_on = models.DateField(_("date"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    image = EncryptedFileField(data_class=L4)
    thumbnail = EncryptedFileField(data_class=L4)
    content_type = models.CharField(max_length=40)
    byte_size = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["-taken_on", "kind"]

    def __str__(self) -> str:
        return f"photo {self.id}"


class ClientForm(PersonalData):
    VAULT_SUBJECT_FIELD = "client_id"

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation form")
        CONSENT = "consent", _("Consent form")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="forms")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    signed_on = models.DateField(_("signed on"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    document = EncryptedFileField(data_class=L4)
    content_type = models.CharField(max_length=40)
    byte_size = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("signed form")
        verbose_name_plural = _("signed forms")
        ordering = ["-signed_on"]

    def __str__(self) -> str:
        return f"form {self.id}"


class ImportStaging(models.Model):
    """A spreadsheet held between its preview and the importer's confirmation.

    Only AES-GCM ciphertext is kept here; its key is in the preview page the importer holds
    and never in the database, so a dump of this table reads nothing. Rows expire after
    records.importing.staging.LIFETIME and are removed on the next preview or confirmation.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="+")
    location = models.ForeignKey("access.Location", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=4)  # csv or xlsx; the file's name is not kept
    update = models.BooleanField(default=False)
    sealed = models.BinaryField()

    class Meta:
        verbose_name = _("import awaiting confirmation")
        verbose_name_plural = _("imports awaiting confirmation")

    def __str__(self) -> str:
        return f"import {self.id}"


class Destruction(models.Model):
    """The destruction of one client, as a state machine that converges after a crash:
    requested, approved, then the data key shredded, the files deleted, the rows deleted and
    a signed certificate made (records/destruction.py). Kept after the client is gone: ids,
    the client code and counts, no personal data."""

    class Basis(models.TextChoices):
        REQUEST = "request", _("the client's deletion request")
        RETENTION = "retention", _("retention period ended")
        CONSENT = "consent", _("consent withdrawn")
        SALE = "sale", _("copies left after the sale of the business")

    class State(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        KEYS_SHREDDED = "keys_shredded", _("data key shredded")
        FILES_DELETED = "files_deleted", _("files deleted")
        ROWS_DELETED = "rows_deleted", _("records deleted")
        CERTIFIED = "certified", _("destroyed, certificate signed")

    class Scope(models.TextChoices):
        CLIENT = "client", _("the whole client")
        PHOTOS = "photos", _("photos")
        HEALTH = "health", _("health notes")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.UUIDField(db_index=True)
    client_code = models.CharField(_("client code"), max_length=40)
    location_code = models.CharField(max_length=20, blank=True)
    scope = models.CharField(_("what"), max_length=8, choices=Scope.choices,
                             default=Scope.CLIENT)
    basis = models.CharField(_("basis"), max_length=12, choices=Basis.choices)
    reason = models.CharField(_("reason"), max_length=500)
    state = models.CharField(_("state"), max_length=16, choices=State.choices,
                             default=State.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    key_ids = models.JSONField(default=list, blank=True)  # "subject:generation" shredded
    counts = models.JSONField(default=dict, blank=True)
    certificate = models.JSONField(default=dict, blank=True)  # the signed statement

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"destruction of {self.client_code} ({self.state})"


class LegalHold(models.Model):
    """A client who must not be destroyed until `until` (a dispute, an inquiry): retention
    proposes nothing for them and every destruction is refused while it stands."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.UUIDField(db_index=True)
    client_code = models.CharField(_("client code"), max_length=40)
    reason = models.CharField(_("reason"), max_length=500)
    until = models.DateField(_("until"))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="+")
    placed_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return f"legal hold on {self.client_code} until {self.until}"


class RetentionPolicy(models.Model):
    """How long a client (`client`), their photos (`photos`) or their health notes
    (`health`) are kept after their last visit (or, never seen, since the record was made).
    Owners edit them; an automatic policy destroys without asking."""

    key = models.CharField(max_length=20, unique=True)  # a Destruction.Scope
    years = models.PositiveSmallIntegerField(_("years after the last visit"))
    automatic = models.BooleanField(_("destroy without asking"), default=False)
    enabled = models.BooleanField(_("enabled"), default=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.years} years"


class RetentionProposal(models.Model):
    """A client the nightly job found past retention, awaiting an owner's decision."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("awaiting a decision")
        APPROVED = "approved", _("approved and destroyed")
        DISMISSED = "dismissed", _("kept")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    policy = models.ForeignKey(RetentionPolicy, on_delete=models.PROTECT, related_name="+")
    client_id = models.UUIDField(db_index=True)
    client_code = models.CharField(_("client code"), max_length=40)
    inactive_since = models.DateField(_("inactive since"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED)
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    destruction = models.ForeignKey(Destruction, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["inactive_since", "client_code"]
        constraints = [models.UniqueConstraint(
            fields=["client_id", "policy"], condition=models.Q(state="proposed"),
            name="one_open_proposal_per_client_and_policy")]

    def __str__(self) -> str:
        return f"retention of {self.client_code} ({self.state})"


class ConsentEvent(PersonalData):
    """A client's consent to one purpose given or withdrawn, with its evidence. Append-only:
    the current state of a purpose is its latest event (records/consent.py)."""

    VAULT_SUBJECT_FIELD = "client_id"

    class Purpose(models.TextChoices):
        SERVICE = "service", _("Service records")
        HEALTH = "health", _("Health data")
        PHOTOS = "photos", _("Record photos")
        PORTFOLIO = "portfolio", _("Portfolio or marketing use of photos")
        MARKETING = "marketing", _("Marketing messages")
        TRANSFER = "transfer", _("Transfer to a future owner of the salon")

    class Action(models.TextChoices):
        GIVEN = "given", _("given")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class Channel(models.TextChoices):
        IN_PERSON = "in_person", _("in person, signed on the salon's tablet")
        PAPER = "paper", _("on a paper form")
        CLIENT_PAGE = "client_page", _("on the client's own page")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(_("when"), db_index=True)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    notice_version = models.PositiveIntegerField(_("privacy notice version"), null=True,
                                                 blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    # The client's (or guardian's) signature drawn on the tablet: a PNG, sealed.
    signature = EncryptedFileField(data_class=L2)
    # For a client under 14 (PIPL Art. 31): who consented on their behalf.
    guardian_name = EncryptedTextField(_("guardian"), data_class=L2)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-at"]
        indexes = [models.Index(fields=["client", "purpose", "at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.action} for {self.client_id}"


class PrivacyNotice(models.Model):
    """A version of the salon's privacy notice, in both languages. The purposes, data
    categories and retention periods are not typed here: the notice page reads them from
    the consent purposes, the data classes and the retention policies."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(_("version"), unique=True)
    body_zh = models.TextField(_("notice (Chinese)"))
    body_en = models.TextField(_("notice (English)"))
    contact = models.CharField(_("privacy contact"), max_length=300)
    changes_zh = models.TextField(_("what changed (Chinese)"), blank=True)
    changes_en = models.TextField(_("what changed (English)"), blank=True)
    needs_reconsent = models.BooleanField(
        _("clients must consent again"), default=False,
        help_text=_("For a change in purposes: consents given under earlier versions are "
                    "asked for again."))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("privacy notice")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"privacy notice v{self.version}"


class NoticeAcknowledgement(models.Model):
    """A client was told of a notice version and acknowledged it."""

    class Channel(models.TextChoices):
        IN_PERSON = "in_person", _("in person")
        CLIENT_PAGE = "client_page", _("on the client's own page")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="acknowledgements")
    version = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "version"],
                                               name="one_acknowledgement_per_version")]
        indexes = [models.Index(fields=["version", "client"])]

    def __str__(self) -> str:
        return f"notice v{self.version} acknowledged by {self.client_id}"


class Restriction(models.Model):
    """The client asked for the processing of their data to be restricted (PIPL Art. 44):
    while it stands nothing new is recorded about them; the record is kept as it is."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="restrictions")
    reason = models.CharField(_("reason"), max_length=500)
    placed_at = models.DateTimeField(auto_now_add=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return f"restriction of {self.client_id}"


class Product(models.Model):
    """A product of the salon's catalogue, with what makes it unsafe for some clients.

    Not personal data: the contraindication check (records/contraindications.py) matches
    its allergen keywords against a client's recorded allergies and asks for a patch test
    when `needs_patch_test`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    allergens = models.CharField(
        _("allergens"), max_length=500, blank=True,
        help_text=_("Keywords matched against a client's recorded allergies, separated by "
                    "commas or 、, e.g. “PPD, 对苯二胺, para-phenylenediamine”."))
    needs_patch_test = models.BooleanField(_("needs a patch test"), default=False)
    patch_test_valid_days = models.PositiveSmallIntegerField(
        _("a patch test is valid for (days)"), default=180)
    active = models.BooleanField(
        _("active"), default=True,
        help_text=_("Inactive products are no longer offered on the treatment form; "
                    "treatments naming them are still checked."))

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name

    @property
    def allergen_keywords(self) -> list[str]:
        return [word.strip() for word in re.split(r"[,，、;；\n]", self.allergens) if word.strip()]


class PatchTest(PersonalData):
    """A patch test of one product on a client. Its result and any reaction are health
    data (L4); the date and the product say only that a test was done."""

    VAULT_SUBJECT_FIELD = "client_id"

    class Result(models.TextChoices):
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="patch_tests")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("product"))
    tested_on = models.DateField(_("tested on"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    result = EncryptedTextField(_("result"), data_class=L4)  # a Result value
    reaction = EncryptedTextField(_("reaction"), data_class=L4)

    class Meta:
        verbose_name = _("patch test")
        verbose_name_plural = _("patch tests")
        ordering = ["-tested_on", "-created_at"]
        indexes = [models.Index(fields=["client", "product", "tested_on"])]

    def __str__(self) -> str:
        return f"patch test {self.id}"

    @property
    def result_label(self):
        """The result in the reader's language (inside a scope that reaches L4)."""
        try:
            return self.Result(self.result).label
        except ValueError:
            return self.result  # sealed or damaged: the value shows its own mark


class ContraindicationOverride(PersonalData):
    """An owner or manager went ahead with a treatment the contraindication check stopped.
    The reason is written by staff and may name the client's condition, so it is sealed
    (L4); `stops` holds reason codes and catalogue product names only."""

    VAULT_SUBJECT_FIELD = "client_id"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE,
                                  related_name="overrides")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    stops = models.JSONField(default=list)
    reason = EncryptedTextField(_("reason"), data_class=L4)

    class Meta:
        verbose_name = _("contraindication override")
        verbose_name_plural = _("contraindication overrides")
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"contraindication override {self.id}"


class Provenance(models.Model):
    """Where a client's record came from when it was bought with another salon's business
    (PIPL Art. 22): the package, the seller, the client's code there, and the purposes the
    record may be used for here. A new purpose needs the client's consent given here."""

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="provenance")
    package_id = models.UUIDField(db_index=True)
    case_id = models.UUIDField()
    seller = models.CharField(_("seller"), max_length=200)
    seller_fingerprint = models.CharField(max_length=64)
    original_code = models.CharField(_("code at the seller"), max_length=40)
    original_purposes = models.JSONField(default=list)
    imported_at = models.DateTimeField()

    class Meta:
        verbose_name = _("provenance")

    def __str__(self) -> str:
        return f"provenance of {self.client_id} from {self.seller}"
