"""Wrapped data keys live in the `vault` database; everything else in `default`."""

from __future__ import annotations

VAULT_MODELS = {"datakey"}


def _is_key_model(app_label: str, model_name: str | None) -> bool:
    return app_label == "vault" and (model_name or "") in VAULT_MODELS


class VaultRouter:
    def db_for_read(self, model, **hints):
        return "vault" if _is_key_model(model._meta.app_label, model._meta.model_name) else "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if _is_key_model(app_label, model_name):
            return db == "vault"
        return db == "default"
