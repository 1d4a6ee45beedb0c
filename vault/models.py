from __future__ import annotations

from django.db import models


class DataKey(models.Model):
    """A subject's 256-bit data key, wrapped by one KEK version. Lives in the `vault` alias.

    A subject may hold several generations while it is being re-keyed; the highest is the
    one new values are sealed with.
    """

    subject_id = models.UUIDField()
    generation = models.PositiveIntegerField(default=1)
    # Not indexed: a rotation rewrites every row's version, and without an index on it (and
    # with room left on each page, see migration 0002) PostgreSQL updates rows in place.
    kek_version = models.PositiveIntegerField()
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject_id", "generation"], name="one_key_per_generation"),
        ]

    def __str__(self) -> str:
        return f"data key of {self.subject_id} gen={self.generation} kek={self.kek_version}"


class ShredRecord(models.Model):
    """The shred ledger: ids only, no secrets. Lives in the main database so that a restore
    of the key store can be followed by replaying it."""

    subject_id = models.UUIDField(unique=True)
    shredded_at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    reason = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"shredded {self.subject_id}"
