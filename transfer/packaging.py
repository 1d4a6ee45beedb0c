"""Building the package for the recipient, and handing it over once.

The package is written by a task as an age file sealed to the recipient's key, straight
from the vault through the sealing stream, so it never exists unsealed on disk. A task
redelivered after a crash starts the package again from nothing (the half-written file
is removed); a package already built is left alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import actions, checkpoints

from . import cases, export, package, receipt, scope
from .cases import StepRefused
from .models import Package, State, TransferCase

log = logging.getLogger(__name__)


def packages_dir() -> Path:
    return Path(settings.TRANSFER_PACKAGE_DIR)


def path_of(p: Package) -> Path:
    return packages_dir() / f"{p.pk}.age"


def lifetime() -> dt.timedelta:
    return dt.timedelta(days=settings.TRANSFER_PACKAGE_DAYS)


def request_build(case: TransferCase, *, actor) -> Package:
    """Queue the package once two owners approved the current scope."""
    with transaction.atomic():
        case = TransferCase.objects.select_for_update().get(pk=case.pk)
        if case.state != State.APPROVAL:
            raise StepRefused(_("The package is built after approval."))
        if not cases.approved(case):
            raise StepRefused(_("Two owners other than the one who opened the case must "
                                "approve the current scope first."))
        if case.packages.filter(status=Package.Status.BUILDING).exists():
            raise StepRefused(_("The package is being built."))
        built = Package.objects.create(case=case, scope_revision=case.scope_revision,
                                       total=len(scope.plan(case).included))
        cases.event(case, actor, actions.TRANSFER_PACKAGE, package=str(built.pk), queued=True)
        from . import tasks

        transaction.on_commit(lambda: tasks.build_package.delay(str(built.pk)))
    return built


def build(package_id) -> Package:
    p = Package.objects.select_related("case").get(pk=package_id)
    if p.status != Package.Status.BUILDING:
        return p
    case = p.case
    target = path_of(p)
    partial = target.with_suffix(".partial")
    packages_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    partial.unlink(missing_ok=True)  # a redelivered task starts again
    plan = scope.plan(case)
    Package.objects.filter(pk=p.pk).update(total=len(plan.included), done=0)
    header = {"case_id": str(case.pk), "title": case.title, "seller": _seller(),
              "recipient_name": case.recipient_name, "scope_revision": case.scope_revision,
              "parts": case.parts, "locations": case.location_codes or "all",
              "basis": case.basis}

    def done(n: int) -> None:
        Package.objects.filter(pk=p.pk).update(done=n)

    try:
        with partial.open("wb") as out:
            partial.chmod(0o600)
            manifest = package.write(out, recipient=case.recipient_key,
                                     signer=checkpoints.signer(), header=header,
                                     entries=export.entries(case, plan, seller=_seller(),
                                                            done=done))
    except Exception as exc:
        partial.unlink(missing_ok=True)
        Package.objects.filter(pk=p.pk).update(status=Package.Status.FAILED,
                                               error=str(exc)[:500])
        cases.event(case, None, actions.TRANSFER_PACKAGE, outcome="error", package=str(p.pk))
        raise
    digest, size = _digest(partial)
    partial.replace(target)
    try:
        _ready(p, case, plan, manifest, digest, size)
    except StepRefused:  # the case was cancelled while the package was being built
        target.unlink(missing_ok=True)
        Package.objects.filter(pk=p.pk).update(status=Package.Status.FAILED,
                                               error="the case moved on while building")
        return Package.objects.get(pk=p.pk)
    log.info("transfer package %s of case %s: %d clients, %d bytes", p.pk, case.pk,
             len(plan.included), size)
    return Package.objects.get(pk=p.pk)


def _ready(p: Package, case: TransferCase, plan, manifest: dict, digest: str, size: int):
    with transaction.atomic():
        Package.objects.filter(pk=p.pk).update(
            status=Package.Status.READY, made_at=timezone.now(), done=len(plan.included),
            sha256=digest, byte_size=size, manifest=_facts(manifest),
            clients=[str(c) for c in plan.included], file_name=f"transfer-{case.pk}.age",
            expires_at=timezone.now() + lifetime())
        cases.advance_to(case, State.PACKAGED, actor=None, expect=State.APPROVAL)
        cases.event(case, None, actions.TRANSFER_PACKAGE, package=str(p.pk),
                    package_id=manifest["package_id"], clients=len(plan.included),
                    bytes=size, sha256=digest)


def _seller() -> str:
    return getattr(settings, "SALON_NAME", "") or "Salon Vault"


def _facts(manifest: dict) -> dict:
    """What the case keeps of the manifest: its id, counts and parts (hashes, sizes)."""
    keep = ("format", "package_id", "created_at", "recipient", "seller_fingerprint", "counts",
            "files", "parts")
    return {k: manifest[k] for k in keep if k in manifest} | {
        "manifest_sha256": receipt.manifest_sha256(manifest)}


def _digest(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def take(p: Package, *, actor) -> Iterator[bytes]:
    """The package's bytes for the owner's one download; the case is then delivered and
    the file removed once it has been read out."""
    with transaction.atomic():
        taken = Package.objects.filter(pk=p.pk, status=Package.Status.READY,
                                       expires_at__gt=timezone.now()).update(
            status=Package.Status.DOWNLOADED, downloaded_at=timezone.now(),
            downloaded_by=actor)
        if not taken:
            raise StepRefused(_("This package has been downloaded already or has expired."))
        cases.advance_to(p.case, State.DELIVERED, actor=actor, expect=State.PACKAGED)
        cases.event(p.case, actor, actions.TRANSFER_DOWNLOAD, package=str(p.pk),
                    sha256=p.sha256)
    path = path_of(p)
    handle = path.open("rb")

    def stream() -> Iterator[bytes]:
        try:
            while chunk := handle.read(1 << 20):
                yield chunk
        finally:
            handle.close()
            path.unlink(missing_ok=True)

    return stream()


def sweep(now: dt.datetime | None = None) -> int:
    """Remove packages past their expiry, never downloaded."""
    now = now or timezone.now()
    gone = 0
    for p in Package.objects.filter(status=Package.Status.READY, expires_at__lte=now):
        path_of(p).unlink(missing_ok=True)
        Package.objects.filter(pk=p.pk).update(status=Package.Status.EXPIRED)
        gone += 1
    return gone
