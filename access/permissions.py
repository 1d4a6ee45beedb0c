"""django-guardian, wrapped: the one module that speaks to it.

Guardian stores the object permission `records.view_client` for every active grant; the
`Grant` ledger beside it holds who granted it, why and until when.
"""

from __future__ import annotations

from django.db.models import QuerySet
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

VIEW_CLIENT = "records.view_client"


def give(user, client) -> None:
    assign_perm(VIEW_CLIENT, user, client)


def take(user, client) -> None:
    remove_perm(VIEW_CLIENT, user, client)


def granted(user, clients: QuerySet) -> QuerySet:
    """The clients of `clients` on which `user` holds an object grant."""
    return get_objects_for_user(user, VIEW_CLIENT, klass=clients, with_superuser=False,
                                accept_global_perms=False)


def checker_for(user, clients) -> ObjectPermissionChecker:
    checker = ObjectPermissionChecker(user)
    if clients:
        checker.prefetch_perms(list(clients))
    return checker


def holds(checker: ObjectPermissionChecker, client) -> bool:
    return checker.has_perm("view_client", client)
