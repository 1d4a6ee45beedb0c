"""The change log for personal records, beside django-auditlog.

Auditlog diffs only the non-personal fields (the personal ones are excluded so neither
plaintext nor ciphertext reaches its table). A save that changes personal fields alone
would then leave no entry; these receivers add one that names the changed fields only.
"""

from __future__ import annotations

from auditlog.models import LogEntry

from vault.fields import changed_personal_fields, mark_saved

_LOGGED = "_changelog_logged"


def note_logged(sender, instance, log_created=False, action=None, **kwargs):
    if log_created and action == LogEntry.Action.UPDATE:
        instance.__dict__[_LOGGED] = True


def log_personal_only_change(sender, instance, raw=False, **kwargs):
    # Runs after auditlog's own pre_save receiver (connected later), once per save.
    logged = instance.__dict__.pop(_LOGGED, False)
    if raw or instance._state.adding or logged or not changed_personal_fields(instance):
        return
    LogEntry.objects.log_create(instance, action=LogEntry.Action.UPDATE, changes={},
                                force_log=True)


def personal_saved(sender, instance, raw=False, **kwargs):
    # Runs after auditlog's post_save receiver, so the creation entry still sees the fields.
    mark_saved(instance)
