from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vault.classes import DataClass

from .models import Location, Role


class StaffCreateForm(forms.Form):
    username = forms.RegexField(label=_("Username"), max_length=30, regex=r"^[A-Za-z0-9_.-]+$",
                                error_messages={"invalid": _("Use letters, digits, '.', '-' or '_'.")})
    display_name = forms.CharField(label=_("Display name"), max_length=100)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.all(),
                                      required=False)
    email = forms.EmailField(label=_("Email (optional)"), required=False,
                             help_text=_("Where mail is set up, the invitation link is also "
                                         "sent here."))

    def clean_username(self):
        name = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(_("This username is taken."))
        return name

    def clean(self):
        data = super().clean()
        if data.get("role") not in (Role.OWNER, Role.AUDITOR, None) and not data.get("location"):
            self.add_error("location", _("Staff of this role work at a location."))
        return data


class OwnPasswordForm(SetPasswordForm):
    """The person's own password, set on their invitation or reset link (Django's
    password validators apply)."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.all(),
                                      required=False)

    def clean(self):
        data = super().clean()
        if data.get("role") not in (Role.OWNER, Role.AUDITOR, None) and not data.get("location"):
            self.add_error("location", _("Staff of this role work at a location."))
        return data


class GrantForm(forms.Form):
    client_code = forms.CharField(label=_("Client code"), max_length=40)
    expires_at = forms.DateTimeField(label=_("Expires (optional)"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                format="%Y-%m-%dT%H:%M"))

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value and value <= timezone.now():
            raise forms.ValidationError(_("An expiry must be in the future."))
        return value


class TrainingForm(forms.Form):
    course = forms.CharField(label=_("Course"), max_length=200,
                             initial=_("Client privacy and PIPL basics"))
    completed_on = forms.DateField(label=_("Completed on"), initial=dt.date.today,
                                   widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    valid_days = forms.IntegerField(label=_("Valid for (days)"), initial=365, min_value=30,
                                    max_value=1095)


class AgreementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 12}))


class BreakGlassForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Who needs what, and why now. Owners are alerted at once "
                                         "and will review this access."))


class ReviewForm(forms.Form):
    justified = forms.TypedChoiceField(label=_("Verdict"), coerce=lambda v: v == "yes",
                                       choices=[("yes", _("Justified")), ("no", _("Not justified"))],
                                       widget=forms.RadioSelect)
    note = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}),
                           max_length=1000)


class PolicyForm(forms.Form):
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.all())
    role = forms.ChoiceField(label=_("Role"), choices=[c for c in Role.choices
                                                       if c[0] not in (Role.OWNER, Role.AUDITOR)])
    ceiling = forms.TypedChoiceField(label=_("Highest data class"), coerce=int,
                                     choices=[(c.value, c.label) for c in DataClass
                                              if c >= DataClass.L1])
