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


def diagnose_sql(users: dict) -> None:
    """The stylist's own queries, timed alone against the owner's (median of 7), with the
    plan SQLite or PostgreSQL chooses: where the list page's extra time goes."""
    stylist, owner = users[MEASURED], users["owner"]
    _list_page_rows(stylist, owner)
    _grant_lookup(stylist)


def _best(fn) -> float:
    times = []
    for _ in range(7):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return median(times)


def _plan(qs) -> str:
    from django.db import connection

    sql, params = qs.query.sql_with_params()
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cur:
        cur.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql, params)
        rows = cur.fetchall()
    steps = [r[-1] for r in rows] if sqlite else [r[0] for r in rows]
    return "; ".join(step.strip() for step in steps[:12])


def _list_page_rows(stylist, owner) -> None:
    """The rows of a list page in the middle of the stylist's list, hers against the
    owner's."""
    from records import selectors

    mine = selectors.clients_visible_to(stylist).select_related("location", "assigned_staff")
    theirs = selectors.clients_visible_to(owner).select_related("location", "assigned_staff")
    codes = list(mine.order_by("code").values_list("code", flat=True))
    after = codes[len(codes) // 2]

    def page(q):
        return q.filter(code__gt=after).order_by("code")[:51]

    a, b = _best(lambda: list(page(mine))), _best(lambda: list(page(theirs)))
    RESULTS.append(Result(f"SQL: the rows of a list page (after {after})", ms(a), ms(b),
                          f"{a / b:.1f}×", "(information)", None))
    say(f"  plan, stylist: {_plan(page(mine))}")
    say(f"  plan, owner:   {_plan(page(theirs))}")


def _grant_lookup(stylist) -> None:
    """The Grant ledger's answer for one client of the stylist's."""
    from django.db.models import Q
    from django.utils import timezone

    from access.models import Grant

    held = Grant.objects.filter(user=stylist)
    client_id = held.values_list("client_id", flat=True)[held.count() // 2]
    grant = (Grant.objects.filter(user=stylist, client_id__in=[client_id],
                                  revoked_at__isnull=True)
             .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
             .values_list("client_id", flat=True))
    a = _best(lambda: list(grant.all()))  # .all(): a fresh query each time, no cache
    RESULTS.append(Result("SQL: the Grant ledger lookup of one client",
                          ms(a), "—", "—", "(information)", None))
    say(f"  plan, Grant lookup: {_plan(grant)}")


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
