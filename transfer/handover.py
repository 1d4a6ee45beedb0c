"""After delivery: the recipient's receipt, then — once the grace period has passed — the
seller's copies of the transferred clients destroyed through the lifecycle's destruction
path, and one signed certificate listing them all. Clients who objected were never in the
package and stay with the seller; a client put under a legal hold since is kept, and the
certificate says so.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import actions, checkpoints
from records import certificate_file, destruction
from records.models import Client, Destruction

from . import cases, receipt
from .cases import StepRefused
from .models import Package, Receipt, State, TransferCase

RECEIPT_MAX_BYTES = 256 * 1024


def grace() -> dt.timedelta:
    return dt.timedelta(days=settings.TRANSFER_GRACE_DAYS)


def delivered_package(case: TransferCase) -> Package | None:
    return case.packages.filter(status=Package.Status.DOWNLOADED).order_by("-downloaded_at").first()


def record_receipt(case: TransferCase, data: bytes, *, actor,
                   today: dt.date | None = None) -> Receipt:
    """The recipient's receipt, checked against the package handed over."""
    today = today or timezone.localdate()
    if case.state != State.DELIVERED:
        raise StepRefused(_("A receipt is recorded once the package has been delivered."))
    handed = delivered_package(case)
    if handed is None:
        raise StepRefused(_("No package of this case was downloaded."))
    if len(data) > RECEIPT_MAX_BYTES:
        raise StepRefused(_("This file is too large to be a receipt."))
    try:
        signed = receipt.check(data, manifest=handed.manifest)
    except receipt.InvalidReceipt as exc:
        raise StepRefused(_("The receipt is not accepted: %(why)s.") % {"why": exc}) from None
    with transaction.atomic():
        kept = Receipt.objects.create(case=case, package=handed, statement=signed,
                                      uploaded_by=actor, uploaded_at=timezone.now(),
                                      destroy_after=today + grace())
        cases.advance_to(case, State.ACKNOWLEDGED, actor=actor, expect=State.DELIVERED)
        cases.event(case, actor, actions.TRANSFER_RECEIPT,
                    package_id=signed["package_id"],
                    receiver=signed["receiver_fingerprint"],
                    destroy_after=kept.destroy_after.isoformat())
    return kept


def check_destroyable(case: TransferCase, *, today: dt.date | None = None) -> Receipt:
    """The receipt, if the seller's copies may be destroyed now; else StepRefused."""
    today = today or timezone.localdate()
    kept_receipt = Receipt.objects.filter(case=case).first()
    if case.state != State.ACKNOWLEDGED or kept_receipt is None:
        raise StepRefused(_("The seller's copies are destroyed after the receipt."))
    if today <= kept_receipt.destroy_after:
        raise StepRefused(_("The grace period ends on %(date)s.")
                          % {"date": kept_receipt.destroy_after.isoformat()})
    return kept_receipt


def destroy_seller_copies(case: TransferCase, *, actor, today: dt.date | None = None,
                          progress=None) -> dict:
    """Destroy what the seller still holds of the clients handed over, and certify it in
    one signed statement. Safe to run again: clients already destroyed are skipped, a
    destruction a crash stopped is finished."""
    case = TransferCase.objects.get(pk=case.pk)
    kept_receipt = check_destroyable(case, today=today)
    ids = [uuid.UUID(c) for c in kept_receipt.package.clients]
    reason = f"handed over in transfer case {case.pk} ({case.recipient_name})"
    refused: dict[str, str] = {}
    for n, client in enumerate(Client.objects.filter(pk__in=ids).select_related("location"), 1):
        try:
            destruction.destroy_now(client, actor=actor, basis=Destruction.Basis.SALE,
                                    reason=reason)
        except destruction.NotDestroyable as exc:  # e.g. a legal hold placed since
            refused[client.code] = str(exc)
        if progress:
            progress(n, len(ids))
    done = {d.client_id: d for d in Destruction.objects.filter(
        client_id__in=ids, basis=Destruction.Basis.SALE, state=Destruction.State.CERTIFIED)}
    left = Client.objects.filter(pk__in=ids).values_list("pk", "code")
    statement = {
        "client_code": f"{len(done)} clients handed over in transfer case {case.pk}",
        "client_id": str(case.pk), "scope": "transfer", "basis": Destruction.Basis.SALE,
        "reason": reason, "recipient": case.recipient_name,
        "package_id": kept_receipt.statement["package_id"],
        "receipt_signed_by": kept_receipt.statement["receiver_fingerprint"],
        "destroyed_at": timezone.now().isoformat(),
        "key_ids": sorted(k for d in done.values() for k in d.key_ids),
        "clients": sorted(({"code": d.client_code, "id": str(d.client_id),
                            "destruction": str(d.pk)} for d in done.values()),
                          key=lambda c: c["code"]),
        "kept": sorted(({"id": str(pk), "code": code, "why": refused.get(code, "")}
                        for pk, code in left), key=lambda c: c["code"]),
    }
    signed = certificate_file.sign(statement, checkpoints.signer())
    with transaction.atomic():
        Receipt.objects.filter(pk=kept_receipt.pk).update(certificate=signed)
        cases.advance_to(case, State.DESTROYED, actor=actor, expect=State.ACKNOWLEDGED)
    return signed


def close(case: TransferCase, *, actor) -> TransferCase:
    return cases.advance_to(case, State.CLOSED, actor=actor, expect=State.DESTROYED,
                            closed_at=timezone.now())


def due(today: dt.date | None = None) -> list[TransferCase]:
    """Cases whose grace period has ended, for the daily job."""
    today = today or timezone.localdate()
    return list(TransferCase.objects.filter(state=State.ACKNOWLEDGED,
                                            receipt__destroy_after__lt=today))
