"""Telling the clients (PIPL Art. 22): each client in the case's scope gets a notice that
names the recipient and its contact, in Chinese and English, with their own signed link
whose page lets them object or ask to be deleted instead. The notices are exported as CSV
for the salon's SMS and email tools; making the export opens the clients' contact details,
and that opening is recorded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from access import door
from audit import actions
from records.models import Client
from rights import links
from rights.models import ClientLink

from . import cases, scope
from .models import Notice, State, TransferCase

BATCH = 500
COLUMNS = ("client_code", "name", "phone", "email", "link", "sms_zh", "sms_en",
           "email_subject", "email_body")


def make_all(case: TransferCase, *, actor) -> int:
    """A notice and a link for each client in scope not told yet; returns how many new."""
    if case.state != State.NOTICE:
        raise cases.StepRefused(_("Notices are made during the notice period."))
    told = set(Notice.objects.filter(case=case).values_list("client_id", flat=True))
    until = dt.datetime.combine(case.objection_until + dt.timedelta(days=1), dt.time(),
                                tzinfo=timezone.get_current_timezone())
    made = 0
    for client in scope.clients_in_scope(case).select_related("location").iterator():
        if client.pk in told:
            continue
        with transaction.atomic():
            link, _token = links.issue(client, actor=actor, language="zh-hans", until=until)
            Notice.objects.create(case=case, client_id=client.pk, client_code=client.code,
                                  link_id=link.pk, language=link.language,
                                  made_at=timezone.now())
        made += 1
    cases.event(case, actor, actions.TRANSFER_NOTICES, made=made, told=len(told) + made)
    return made


def texts(case: TransferCase, *, name: str, link: str) -> dict[str, str]:
    facts = {"name": name, "recipient": case.recipient_name, "contact": case.recipient_contact,
             "date": case.objection_until.isoformat(), "link": link}

    def sms() -> str:
        return _("Dear %(name)s, the salon is being sold to %(recipient)s (contact: "
                 "%(contact)s). Your client record will pass to them for the same purposes. "
                 "To object, or to have your record deleted instead, open before %(date)s: "
                 "%(link)s") % facts

    def subject() -> str:
        return _("The salon is changing owner: your client record")

    with translation.override("zh-hans"):
        sms_zh, subject_zh = sms(), subject()
    with translation.override("en"):
        sms_en, subject_en = sms(), subject()
    return {"sms_zh": sms_zh, "sms_en": sms_en, "email_subject": f"{subject_zh} / {subject_en}",
            "email_body": f"{sms_zh}\n\n{sms_en}"}


def export_rows(case: TransferCase, *, actor, base_url: str) -> Iterator[dict]:
    """One row per client told, their contact details opened in batches (each recorded)."""
    notices = list(Notice.objects.filter(case=case).values_list("client_id", "link_id"))
    link_of = dict(notices)
    by_id = {link.pk: link for link in ClientLink.objects.filter(pk__in=link_of.values())}
    ids = [cid for cid, _link in notices]
    for start in range(0, len(ids), BATCH):
        batch = list(Client.objects.filter(pk__in=ids[start:start + BATCH])
                     .select_related("location").order_by("code"))
        with door.open_clients(user=actor, clients=batch, purpose=actions.TRANSFER_BUSINESS,
                               action=actions.TRANSFER_NOTICES,
                               detail={"case": str(case.pk), "export": True}):
            for client in batch:
                token = links.token_for(by_id[link_of[client.pk]])
                link = f"{base_url.rstrip('/')}/c/{token}/"
                name = str(client.full_name)
                yield {"client_code": client.code, "name": name, "phone": client.phone or "",
                       "email": client.email or "", "link": link,
                       **texts(case, name=name, link=link)}


def export_csv(case: TransferCase, *, actor, base_url: str) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in export_rows(case, actor=actor, base_url=base_url):
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: spreadsheets read it as UTF-8
