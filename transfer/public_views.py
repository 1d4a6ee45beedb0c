"""The client's answer to a transfer notice, posted from their own page (no account)."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rights import public_views as client_page

from . import objections
from .cases import StepRefused
from .models import TransferCase


@require_POST
def answer(request, token, case_pk):
    link, client = client_page.resolve_link(request, token)
    if link is None:
        return client_page.invalid_link(request)
    case = TransferCase.objects.filter(pk=case_pk).first()
    if case is None or case not in objections.open_notices(client.pk):
        return client_page.invalid_link(request)
    choice = request.POST.get("answer", "")
    with translation.override(client_page.language_of(request, link.language)):
        try:
            with objections.open_for_answer(client):
                if choice == "take_back":
                    objections.take_back(case, client)
                else:
                    objections.answer(case, client, kind=choice)
        except StepRefused as exc:
            return client_page.client_page_response(request, token, status=400,
                                                    extra={"error": str(exc)})
        said = {"object": _("Your objection is recorded: your record will not be transferred."),
                "delete": _("Your request is recorded: your record will be deleted instead of "
                            "transferred."),
                "take_back": _("Your objection is taken back.")}[choice]
        return client_page.after_post(request, token, said)
