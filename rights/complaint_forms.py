from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import complaints
from .models import Channel, Complaint

TEXT_LIMIT = 5000
# Staff record what reached them at the desk, by phone or in writing; the client's own
# page files its complaints itself.
STAFF_CHANNELS = [(value, label) for value, label in Channel.choices
                  if value != Channel.CLIENT_PAGE]


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Complaint.Category.choices)
    channel = forms.ChoiceField(label=_("Received by"), choices=STAFF_CHANNELS)
    client_code = forms.CharField(label=_("Client code"), max_length=40, required=False,
                                  help_text=_("Leave empty if the complaint names no client "
                                              "or the person did not want to say."))
    description = forms.CharField(label=_("What the complaint is about"),
                                  max_length=TEXT_LIMIT,
                                  widget=forms.Textarea(attrs={"rows": 6}),
                                  help_text=_("In the client's words where you can. It is "
                                              "stored encrypted."))


class HandlerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return str(obj.staff)


class AssignForm(forms.Form):
    handler = HandlerChoiceField(label=_("Handled by"), queryset=complaints.handlers(),
                                 empty_label=None)


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), max_length=TEXT_LIMIT,
                                 widget=forms.Textarea(attrs={"rows": 5}),
                                 help_text=_("What was done, and what the client was told."))
