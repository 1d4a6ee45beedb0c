"""The client's answer to a transfer notice, on their own page: object (stay with the
seller), or be deleted instead (a deletion request through the rights path). An answer
counts until the package is built; a client may take it back during the notice period."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit.services as audit
from access import door
from audit import actions
from records.models import Client
from rights import portal
from vault.classes import DataClass

from .cases import StepRefused
from .models import Notice, Objection, State, TransferCase

ANSWERABLE = (State.NOTICE, State.APPROVAL)


def open_notices(client_id) -> list[TransferCase]:
    """The cases that told this client and still take an answer."""
    cases = Notice.objects.filter(client_id=client_id).values_list("case_id", flat=True)
    return list(TransferCase.objects.filter(pk__in=cases, state__in=ANSWERABLE))


def answer(case: TransferCase, client: Client, *, kind: str) -> Objection:
    """Record the client's answer (the caller opened the client's own scope)."""
    if kind not in Objection.Kind.values:
        raise StepRefused(_("Choose your answer."))
    if case.state not in ANSWERABLE or not Notice.objects.filter(case=case,
                                                                 client_id=client.pk).exists():
        raise StepRefused(_("This transfer no longer takes answers."))
    with transaction.atomic():
        Objection.objects.filter(case=case, client_id=client.pk,
                                 withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())
        objection = Objection.objects.create(case=case, client_id=client.pk,
                                             client_code=client.code, kind=kind,
                                             at=timezone.now())
        if kind == Objection.Kind.DELETE:
            from rights import requests
            from rights.models import Channel, RightsRequest

            requests.open_request(client=client, kind=RightsRequest.Kind.DELETION,
                                  channel=Channel.CLIENT_PAGE,
                                  details=_("Asked to be deleted instead of transferred "
                                            "(transfer case %(case)s).") % {"case": case.title})
        _record(case, client, kind=kind)
    return objection


def take_back(case: TransferCase, client: Client) -> None:
    if case.state != State.NOTICE:
        raise StepRefused(_("The notice period is over: the answer stands."))
    with transaction.atomic():
        Objection.objects.filter(case=case, client_id=client.pk, kind=Objection.Kind.OBJECT,
                                 withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())
        _record(case, client, kind="taken_back")


def _record(case, client, *, kind: str) -> None:
    audit.record(actor=None, actor_label=f"client:{client.code}", role="client",
                 action=actions.TRANSFER_OBJECTION, outcome="allowed", client_id=client.pk,
                 client_code=client.code, location_code=client.location.code,
                 purpose=actions.TRANSFER_BUSINESS, detail={"case": str(case.pk), "answer": kind})


def _section(client, link, request) -> dict | None:
    told = open_notices(client.pk)
    if not told:
        return None
    answers = {o.case_id: o for o in Objection.objects.filter(
        client_id=client.pk, case__in=told, withdrawn_at__isnull=True)}
    return {"cases": [(case, answers.get(case.pk)) for case in told]}


portal.register(portal.Section(key="transfer", template="transfer/public/section.html",
                               context=_section, order=20))


def open_for_answer(client: Client):
    return door.open_for_client_self(client=client, purpose=actions.TRANSFER_BUSINESS,
                                     action=actions.CLIENT_PAGE_OPEN, ceiling=DataClass.L3)
