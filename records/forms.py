from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vault.classes import DataClass

from .models import ClientForm, Destruction, PatchTest, Photo, Product, RetentionPolicy
from .phones import validate_phone
from .services import CLIENT_FIELDS, HEALTH_FIELDS, PROFILE_FIELDS, client_namesakes


class ClientRecordForm(forms.Form):
    """Contact, profile and health fields; only those within the user's ceiling are shown."""

    full_name = forms.CharField(label=_("Full name"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False,
                            validators=[validate_phone],
                            help_text=_("A mainland mobile, or the number with its country "
                                        "code (+852 …)."))
    wechat_id = forms.CharField(label=_("WeChat ID"), max_length=60, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    birthday = forms.DateField(label=_("Birthday"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    skin_type = forms.CharField(label=_("Skin type"), max_length=200, required=False)
    hair = forms.CharField(label=_("Hair"), max_length=200, required=False)
    concerns = forms.CharField(label=_("Concerns"), required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))
    allergies = forms.CharField(label=_("Allergies"), required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))
    contraindications = forms.CharField(label=_("Contraindications"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}))
    medication = forms.CharField(label=_("Medication"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    pregnancy = forms.CharField(label=_("Pregnancy"), max_length=200, required=False)
    conditions = forms.CharField(label=_("Medical conditions"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))

    confirm_duplicate = forms.BooleanField(
        label=_("This is another person: create a new client anyway"), required=False)

    def __init__(self, *args, ceiling: int, location=None, **kwargs):
        """`location`: where a new client is created, to warn of one already there with the
        same name and phone. Not given when editing."""
        super().__init__(*args, **kwargs)
        for fields in (CLIENT_FIELDS, PROFILE_FIELDS, HEALTH_FIELDS):
            for name, level in fields.items():
                if level > ceiling:
                    del self.fields[name]
        self.location, self.namesakes = location, []
        if location is None:
            del self.fields["confirm_duplicate"]

    def clean(self):
        data = super().clean()
        confirmed = data.pop("confirm_duplicate", False)  # not a field of the record
        if self.location is None or confirmed:
            return data
        self.namesakes = client_namesakes(location=self.location, full_name=data.get("full_name", ""),
                                          phone=data.get("phone", ""))
        if self.namesakes:
            raise forms.ValidationError(
                _("A client with the same name and phone is already registered here: "
                  "%(codes)s. Open that record instead, or, if this is someone else, tick "
                  "the box below and save again.") % {"codes": ", ".join(self.namesakes)},
                code="duplicate")
        return data

    def clean_birthday(self):
        value = self.cleaned_data.get("birthday")
        if value and not dt.date(1900, 1, 1) <= value <= dt.date.today():
            raise forms.ValidationError(_("Enter a birthday between 1900 and today."))
        return value

    @property
    def contact_fields(self):
        names = [n for n in CLIENT_FIELDS if n in self.fields]
        if self.namesakes or self.data.get("confirm_duplicate"):  # only once warned
            names.append("confirm_duplicate")
        return [self[n] for n in names]

    @property
    def profile_fields(self):
        return [self[n] for n in PROFILE_FIELDS if n in self.fields]

    @property
    def health_fields(self):
        return [self[n] for n in HEALTH_FIELDS if n in self.fields]

    @classmethod
    def initial_from(cls, client, ceiling: int) -> dict:
        initial = {n: getattr(client, n) for n in CLIENT_FIELDS}
        if ceiling >= DataClass.L3 and hasattr(client, "profile"):
            initial |= {n: getattr(client.profile, n) for n in PROFILE_FIELDS}
        if ceiling >= DataClass.L4 and hasattr(client, "health"):
            initial |= {n: getattr(client.health, n) for n in HEALTH_FIELDS}
        return {k: v for k, v in initial.items() if v is not None}


class TreatmentForm(forms.Form):
    performed_on = forms.DateField(label=_("Date"), initial=timezone.localdate,
                                   widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    service = forms.CharField(label=_("Service"), max_length=200)
    catalogue = forms.ModelMultipleChoiceField(
        label=_("Products from the catalogue"), queryset=Product.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple)
    products = forms.CharField(label=_("Other products (one per line)"), required=False,
                               widget=forms.Textarea(attrs={"rows": 3}))
    colour_formula = forms.CharField(label=_("Colour formula"), max_length=500, required=False)
    notes = forms.CharField(label=_("Notes"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))
    price = forms.DecimalField(label=_("Price (¥)"), required=False, min_value=0,
                               max_digits=9, decimal_places=2)
    # Only for those who may override a contraindication stop (owners and managers).
    override = forms.BooleanField(label=_("Override the stop and record the treatment"),
                                  required=False)
    override_reason = forms.CharField(
        label=_("Reason for the override"), max_length=1000, required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required. Sealed with the treatment; only its existence is in the audit "
                    "log."))

    OVERRIDE_FIELDS = ("override", "override_reason")

    def __init__(self, *args, may_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["catalogue"].queryset = Product.objects.filter(active=True)
        if not may_override:  # a forged field from anyone else is never read
            for name in self.OVERRIDE_FIELDS:
                del self.fields[name]

    def clean_performed_on(self):
        value = self.cleaned_data["performed_on"]
        if value > timezone.localdate():  # the salon's day, as the check counts it
            raise forms.ValidationError(_("A treatment cannot be recorded in the future."))
        return value

    def clean_products(self):
        return [line.strip() for line in self.cleaned_data["products"].splitlines() if line.strip()]

    def note_stopped(self) -> None:
        """After a stop: say what an override still lacks (the box and the reason)."""
        if "override" not in self.fields:
            return
        ticked = self.cleaned_data.get("override")
        reason = " ".join(self.cleaned_data.get("override_reason", "").split())
        if ticked and not reason:
            self.add_error("override_reason", _("Give the reason for the override."))
        elif reason and not ticked:
            self.add_error("override", _("Tick the box to override the stop."))

    @property
    def record_fields(self):
        return [field for field in self if field.name not in self.OVERRIDE_FIELDS]

    @property
    def override_fields(self):
        return [self[name] for name in self.OVERRIDE_FIELDS if name in self.fields]

    def treatment(self) -> dict:
        """The arguments of services.treatment_add: the catalogue's products first, then
        those typed."""
        data = dict(self.cleaned_data)
        picked = [product.name for product in data.pop("catalogue", [])]
        data["products"] = picked + [name for name in data["products"] if name not in picked]
        override = data.pop("override", False)
        reason = data.pop("override_reason", "")
        data["override_reason"] = reason if override else ""
        return data


class PhotoForm(forms.Form):
    image = forms.FileField(label=_("Photo"),
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp",
                                                                   "capture": "environment"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=Photo.Kind.choices)
    taken_on = forms.DateField(label=_("Date"), initial=dt.date.today,
                               widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class SignedForm(forms.Form):
    document = forms.FileField(label=_("Signed form (PDF or photo)"))
    kind = forms.ChoiceField(label=_("Kind"), choices=ClientForm.Kind.choices)
    signed_on = forms.DateField(label=_("Signed on"), initial=dt.date.today,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.csv or .xlsx)"))
    location = forms.ModelChoiceField(label=_("Location"), queryset=None)
    update = forms.BooleanField(
        label=_("Update clients already present"), required=False,
        help_text=_("Rows that match a client at the location and differ from it change that "
                    "client (allergies included). Empty cells never erase anything. You see "
                    "every change on the preview before anything is written."))

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations


class ImportConfirmForm(forms.Form):
    """The preview's confirm button: which staged file, its key, and the plan that was shown."""

    staging = forms.UUIDField(widget=forms.HiddenInput)
    key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    digest = forms.CharField(max_length=64, widget=forms.HiddenInput)


class AssignForm(forms.Form):
    staff = forms.ModelChoiceField(label=_("Stylist or beautician"), queryset=None, required=False,
                                   empty_label=_("— nobody —"))
    expires_at = forms.DateTimeField(label=_("Access expires (optional)"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                format="%Y-%m-%dT%H:%M"))

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff
        self.fields["staff"].label_from_instance = lambda u: str(getattr(u, "staff", u))

    def clean_expires_at(self):
        from django.utils import timezone

        value = self.cleaned_data.get("expires_at")
        if value and value <= timezone.now():
            raise forms.ValidationError(_("An expiry must be in the future."))
        return value


class DestroyForm(forms.Form):
    """An owner destroys one client: why, on what basis, and that she means it."""

    basis = forms.ChoiceField(label=_("Basis"), choices=[
        (value, label) for value, label in Destruction.Basis.choices
        if value != Destruction.Basis.SALE])
    reason = forms.CharField(label=_("Reason"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Kept in the signed certificate. Write no personal "
                                         "details here: the client's code is recorded."))
    confirm = forms.BooleanField(label=_("I understand that the client's records, photos and "
                                         "forms cannot be recovered afterwards, not even from "
                                         "backups."))

    def clean_reason(self):
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("Give a reason."))
        return reason


class RetentionPolicyForm(forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["years", "automatic", "enabled"]

    def clean_years(self):
        years = self.cleaned_data["years"]
        if not 1 <= years <= 50:
            raise forms.ValidationError(_("Between 1 and 50 years."))
        return years


class LegalHoldForm(forms.Form):
    code = forms.CharField(label=_("Client code"), max_length=40)
    reason = forms.CharField(label=_("Reason"), max_length=500)
    until = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))


class PatchTestForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none())
    tested_on = forms.DateField(label=_("Tested on"), initial=timezone.localdate,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    result = forms.ChoiceField(label=_("Result"), choices=PatchTest.Result.choices,
                               widget=forms.RadioSelect)
    reaction = forms.CharField(label=_("Reaction, if any"), max_length=1000, required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(active=True,
                                                                 needs_patch_test=True)

    def clean_tested_on(self):
        value = self.cleaned_data["tested_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("A patch test cannot be recorded in the future."))
        return value


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "allergens", "needs_patch_test", "patch_test_valid_days", "active"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        # The check finds products by name whatever the case: two spellings would be one.
        if Product.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A product of this name is already in the catalogue."))
        return name

    def clean_patch_test_valid_days(self):
        days = self.cleaned_data["patch_test_valid_days"]
        if not 1 <= days <= 3650:
            raise forms.ValidationError(_("Between 1 and 3650 days."))
        return days
