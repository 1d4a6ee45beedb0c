"""Password sign-in as Django's ModelBackend, with the staff profile loaded alongside the
user: every page asks for the person's role, so it comes in the same query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

PATH = "access.backends.StaffBackend"


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("staff").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
