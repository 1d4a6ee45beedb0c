"""Where the time goes: the stylist's own queries with their plans, and the profile of
the pages."""

from __future__ import annotations

import cProfile
import time

from bench.access_control import (
    MEASURED,
    RESULTS,
)
from bench.access_control.measure import call
from bench.common import Result, median, ms, print_profile, say


def diagnose_sql(users: dict, note: str = "") -> None:
    """The stylist's own queries, timed alone against the owner's (median of 7), with the
    plan SQLite or PostgreSQL chooses: where the list page's extra time goes."""
    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone

    from access.models import Grant
    from records import selectors

    stylist, owner = users[MEASURED], users["owner"]

    def best(fn) -> float:
        times = []
        for _ in range(7):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
        return median(times)

    def plan(qs) -> str:
        sql, params = qs.query.sql_with_params()
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        with connection.cursor() as cur:
            cur.execute(prefix + sql, params)
            rows = cur.fetchall()
        steps = [r[-1] for r in rows] if connection.vendor == "sqlite" else [r[0] for r in rows]
        return "; ".join(step.strip() for step in steps[:12])

    mine = selectors.clients_visible_to(stylist).select_related("location", "assigned_staff")
    theirs = selectors.clients_visible_to(owner).select_related("location", "assigned_staff")
    codes = list(mine.order_by("code").values_list("code", flat=True))
    after = codes[len(codes) // 2]  # a page in the middle of the stylist's list

    def page(q):
        return q.filter(code__gt=after).order_by("code")[:51]

    rows = [(f"the rows of a list page (after {after})", lambda q: list(page(q)), page)]
    for label, fn, planned in rows:
        a, b = best(lambda fn=fn: fn(mine)), best(lambda fn=fn: fn(theirs))
        RESULTS.append(Result(f"SQL{note}: {label}", ms(a), ms(b), f"{a / b:.1f}×",
                              "(information)", None))
        if planned is not None:
            say(f"  plan{note}, stylist: {plan(planned(mine))}")
            say(f"  plan{note}, owner:   {plan(planned(theirs))}")
    client_id = Grant.objects.filter(user=stylist).values_list("client_id", flat=True)[
        Grant.objects.filter(user=stylist).count() // 2]
    grant = (Grant.objects.filter(user=stylist, client_id__in=[client_id],
                                  revoked_at__isnull=True)
             .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
             .values_list("client_id", flat=True))
    a = best(lambda: list(grant.all()))  # .all(): a fresh query each time, no cache
    RESULTS.append(Result(f"SQL{note}: the Grant ledger lookup of one client",
                          ms(a), "—", "—", "(information)", None))
    say(f"  plan{note}, Grant lookup: {plan(grant)}")


def profile(clients_http: dict, pages: dict, requests: int) -> None:
    """cProfile of the stylist's pages: where the time over the baseline goes."""
    for page, urls in pages.items():
        for variant in ("stylist", "owner, stubbed"):
            sample = urls[:requests]
            profiler = cProfile.Profile()
            profiler.enable()
            for url in sample:
                call(clients_http, variant, url)
            profiler.disable()
            print_profile(profiler, f"{page}, {variant}", len(sample), top=16)
