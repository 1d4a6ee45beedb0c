"""The whole of a transfer case as one JSON document, for auditors: nothing of a client but
codes and counts; the checklist's sealed notes are opened for the reader, and recorded."""

from __future__ import annotations

from django.utils import timezone

from audit.models import AccessEvent

from . import checklist
from .models import Approval, ChecklistEntry, Notice, Objection, Package, Receipt, TransferCase


def _at(value):
    return value.isoformat() if value else None


def _who(user):
    return user.get_username() if user is not None else None


def case_record(case: TransferCase, *, actor) -> dict:
    entries = list(ChecklistEntry.objects.filter(case=case).select_related("item", "by"))
    notes = checklist.notes(case, actor=actor) if entries else {}
    kept = Receipt.objects.filter(case=case).first()
    return {
        "format": "salon-vault-transfer-case-1", "exported_at": _at(timezone.now()),
        "exported_by": _who(actor),
        "case": {
            "id": str(case.pk), "title": case.title, "state": case.state,
            "opened_at": _at(case.opened_at), "opened_by": _who(case.opened_by),
            "locations": case.location_codes or "all", "parts": case.parts,
            "basis": case.basis, "scope_revision": case.scope_revision,
            "recipient": {"name": case.recipient_name, "contact": case.recipient_contact,
                          "key": case.recipient_key, "fingerprint": case.recipient_fingerprint,
                          "confirmed_at": _at(case.key_confirmed_at),
                          "confirmed_by": _who(case.key_confirmed_by),
                          "confirmed_how": case.key_confirmed_how},
            "notices_from": _at(case.notices_from), "objection_until": _at(case.objection_until),
            "cancelled_at": _at(case.cancelled_at), "cancel_reason": case.cancel_reason,
            "closed_at": _at(case.closed_at)},
        "checklist": [{"item": e.item.key, "label": checklist.label(e.item), "status": e.status,
                       "at": _at(e.at), "by": _who(e.by), "note": notes.get(e.pk),
                       "evidence": e.evidence_name or None,
                       "evidence_sha256": e.evidence_sha256 or None} for e in entries],
        "notices": [{"client_code": n.client_code, "made_at": _at(n.made_at)}
                    for n in Notice.objects.filter(case=case)],
        "answers": [{"client_code": o.client_code, "answer": o.kind, "at": _at(o.at),
                     "withdrawn_at": _at(o.withdrawn_at)}
                    for o in Objection.objects.filter(case=case).order_by("at")],
        "approvals": [{"owner": _who(a.owner), "at": _at(a.at), "revision": a.scope_revision,
                       "voided_at": _at(a.voided_at), "void_reason": a.void_reason}
                      for a in Approval.objects.filter(case=case).select_related("owner")],
        "packages": [{"id": str(p.pk), "status": p.status, "revision": p.scope_revision,
                      "started_at": _at(p.started_at), "made_at": _at(p.made_at),
                      "clients": len(p.clients), "sha256": p.sha256, "bytes": p.byte_size,
                      "manifest": p.manifest, "downloaded_at": _at(p.downloaded_at),
                      "downloaded_by": _who(p.downloaded_by), "expires_at": _at(p.expires_at)}
                     for p in Package.objects.filter(case=case).select_related("downloaded_by")],
        "receipt": kept.statement if kept else None,
        "destroy_after": _at(kept.destroy_after) if kept else None,
        "certificate": kept.certificate if kept else None,
        "events": [{"seq": e.seq, "at": _at(e.at), "actor": e.actor_label, "role": e.role,
                    "action": e.action, "outcome": e.outcome, "detail": e.detail}
                   for e in AccessEvent.objects.filter(detail__case=str(case.pk)).order_by("seq")],
    }
