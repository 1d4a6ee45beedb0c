"""What `vault_status` reports: key versions and what they protect. Ids and counts only."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from . import keyring
from .models import DataKey, ShredRecord


@dataclass(frozen=True)
class KekStatus:
    version: int
    primary: bool
    in_keyring: bool
    wrapped_deks: int


@dataclass(frozen=True)
class VaultStatus:
    source: str
    keks: list[KekStatus]
    subjects: int
    shredded: int

    @property
    def missing_versions(self) -> list[int]:
        return [k.version for k in self.keks if not k.in_keyring and k.wrapped_deks]


def vault_status() -> VaultStatus:
    ring = keyring.provider()
    counts = dict(DataKey.objects.values_list("kek_version").annotate(n=Count("id")))
    versions = sorted(set(ring.versions()) | set(counts))
    keks = [KekStatus(v, v == ring.primary_version(), v in ring.versions(), counts.get(v, 0))
            for v in versions]
    return VaultStatus(
        source=getattr(ring, "source", ""),
        keks=keks,
        subjects=DataKey.objects.values("subject_id").distinct().count(),
        shredded=ShredRecord.objects.count(),
    )
