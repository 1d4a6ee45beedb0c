from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from vault.classes import DataClass

from . import people
from .models import AccessEvent


class EventFilterForm(forms.Form):
    person = forms.ModelChoiceField(label=_("Person"), required=False,
                                    queryset=get_user_model().objects.order_by("username"))
    client_code = forms.CharField(label=_("Client code"), required=False, max_length=40)
    action = forms.CharField(label=_("Action"), required=False, max_length=64,
                             help_text=_("e.g. client.open, photo, auth"))
    data_class = forms.TypedChoiceField(label=_("Data class"), required=False, coerce=int,
                                        empty_value=None,
                                        choices=[("", "—")] + [(c.value, c.label) for c in DataClass])
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", "—"), *AccessEvent.Outcome.choices])
    break_glass = forms.ChoiceField(label=_("Break-glass"), required=False,
                                    choices=[("", "—"), ("yes", _("yes")), ("no", _("no"))])
    location = forms.CharField(label=_("Location"), required=False, max_length=16)
    since = forms.DateTimeField(label=_("From"), required=False,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                           format="%Y-%m-%dT%H:%M"))
    until = forms.DateTimeField(label=_("Until"), required=False,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                           format="%Y-%m-%dT%H:%M"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].label_from_instance = self._person_label
        self._names: dict[int, str] | None = None

    def _person_label(self, user) -> str:
        if self._names is None:  # one query for the whole list of people
            self._names = people.names(self.fields["person"].queryset.values_list("pk", flat=True))
        return self._names.get(user.pk) or user.get_username()

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", _("The end must be after the start."))
        return data

    def described(self) -> dict:
        """The filter as plain values, for the export's own audit event."""
        data = self.cleaned_data if self.is_valid() else {}
        return {k: (v.pk if hasattr(v, "pk") else str(v)) for k, v in data.items()
                if v not in (None, "")}


class AlertActionForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if self.resolving and not data.get("comment", "").strip():
            self.add_error("comment", _("Say how the alert was resolved."))
        return data

    def __init__(self, *args, resolving: bool = False, **kwargs):
        self.resolving = resolving
        super().__init__(*args, **kwargs)

