"""The grants of the 20 staff, the measured stylist's grants in the other branch and her
open break-glass accesses; and the owner's baseline with the object checks stubbed."""

from __future__ import annotations

import contextlib
import datetime as dt
import random

from bench.access_control import (
    CROSS_GRANTS,
    EXTRA_SHARE,
    MEASURED,
)
from bench.salon import EXTRA_STAFF


def ensure_grants(users: dict) -> dict:
    """Grants for the staff beyond the demo's, cross-branch grants and break-glass for the
    measured stylist; returns counts for the report."""
    from django.utils import timezone

    from access import services
    from access.models import BreakGlass, Grant
    from records.models import Client

    rng = random.Random(20240611)
    by_branch = {}
    for code in ("bj", "sh"):
        by_branch[code] = list(Client.objects.filter(location__code=code).order_by("code")
                               .values_list("pk", flat=True))
    for username, role, branch in EXTRA_STAFF:
        user = users[username]
        if role == "reception" or Grant.objects.filter(user=user).exists():
            continue
        ids = rng.sample(by_branch[branch], max(1, int(EXTRA_SHARE * len(by_branch[branch]))))
        services.grants_for_assignments(
            pairs=[(user, c) for c in Client.objects.filter(pk__in=ids)])
    stylist = users[MEASURED]
    home = stylist.staff.location.code
    other = "sh" if home == "bj" else "bj"
    have_cross = Grant.objects.filter(user=stylist, client_id__in=by_branch[other]).count()
    if have_cross < CROSS_GRANTS:
        ids = rng.sample(by_branch[other], CROSS_GRANTS - have_cross)
        services.grants_for_assignments(
            pairs=[(stylist, c) for c in Client.objects.filter(pk__in=ids)])
    now = timezone.now()
    open_glass = BreakGlass.objects.filter(user=stylist, ended_at__isnull=True,
                                           expires_at__gt=now + dt.timedelta(hours=1))
    if open_glass.count() < 3:
        for client in Client.objects.filter(location__code=home,
                                            assigned_staff__isnull=True)[:3]:
            BreakGlass.objects.create(
                user=stylist, client_id=client.pk, client_code=client.code,
                reason="benchmark: the client called about an allergic reaction",
                expires_at=now + dt.timedelta(days=1))
    return {
        "grants": Grant.objects.filter(revoked_at__isnull=True).count(),
        "stylist_grants": Grant.objects.filter(user=stylist, revoked_at__isnull=True).count(),
        "cross": CROSS_GRANTS,
        "glass": open_glass.count(),
    }


@contextlib.contextmanager
def object_checks_stubbed():
    """Decider without object checks: no grants, no break-glass, nothing prefetched."""
    from unittest import mock

    from access.policy import Decider

    with (mock.patch.object(Decider, "prefetch", lambda self, clients: None),
          mock.patch.object(Decider, "has_grant", lambda self, client: False),
          mock.patch.object(Decider, "break_glass", lambda self, client: None)):
        yield
