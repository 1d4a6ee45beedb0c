"""Which backups are kept: grandfather-father-son. The newest backup of each of the last
BACKUP_KEEP_DAILY days, of the last BACKUP_KEEP_WEEKLY weeks and of the last
BACKUP_KEEP_MONTHLY months; the rest are deleted after each new backup. A retired KEK is
kept as long as the oldest kept backup may need it (VAULT_BACKUP_HORIZON_DAYS)."""

from __future__ import annotations

from django.conf import settings

from . import create, store


def kept(ids: list[str]) -> set[str]:
    newest_first = sorted(ids, reverse=True)
    keep: set[str] = set()
    for count, bucket in ((settings.BACKUP_KEEP_DAILY, lambda d: d.date()),
                          (settings.BACKUP_KEEP_WEEKLY, lambda d: d.isocalendar()[:2]),
                          (settings.BACKUP_KEEP_MONTHLY, lambda d: (d.year, d.month))):
        seen = []
        for backup_id in newest_first:
            key = bucket(store.created_at(backup_id))
            if key not in seen:
                seen.append(key)
                if len(seen) > count:
                    break
                keep.add(backup_id)
    return keep


def prune() -> list[str]:
    """Delete the backups the policy no longer keeps; returns their ids."""
    ids = store.ids()
    doomed = [b for b in ids if b not in kept(ids)]
    for backup_id in doomed:
        create._delete_tree(store.storage(), backup_id)
    return doomed
