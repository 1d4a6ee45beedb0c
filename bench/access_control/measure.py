"""The stylist's pages against the owner's with the object checks stubbed, alternating
request by request over the same URLs."""

from __future__ import annotations

import contextlib
import gc
import random

from bench.access_control import (
    RESULTS,
    TARGET_RATIO,
)
from bench.access_control.setup import object_checks_stubbed
from bench.common import Result, median, ms, p95, say, timed_get


def _queries(http, url: str, stubbed: bool) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured, (
            object_checks_stubbed() if stubbed else contextlib.nullcontext()):
        http.get(url)
    return len(captured)


def measure(clients_http: dict, pages: dict, requests: int,
            variants=("stylist", "owner, stubbed", "owner")) -> dict:
    """Alternate the variants request by request over the same URLs."""
    timings = {}
    for page, urls in pages.items():
        for url in urls[:10]:  # warm up: templates, connections, translation catalogs
            for variant in variants:
                call(clients_http, variant, url)
        wall = {v: [] for v in variants}
        cpu = {v: [] for v in variants}
        gc.collect()
        for i, url in enumerate(urls[:requests]):
            k = i % len(variants)
            order = variants[k:] + variants[:k]  # rotate who goes first
            for variant in order:
                wall[variant].append(call(clients_http, variant, url, cpu[variant]))
        queries = {v: _queries(clients_http[v.split(",")[0]], urls[0], v == "owner, stubbed")
                   for v in variants}
        timings[page] = (wall, cpu, queries)
        say(f"{page}: median " + ", ".join(f"{v} {ms(median(wall[v]))}" for v in variants)
            + f"; queries {queries}")
    return timings


def call(clients_http: dict, variant: str, url: str, cpu: list[float] | None = None) -> float:
    http = clients_http[variant.split(",")[0]]
    with object_checks_stubbed() if variant == "owner, stubbed" else contextlib.nullcontext():
        return timed_get(http, url, cpu)


def add_results(timings: dict, requests: int) -> None:
    for page, (wall, cpu, queries) in timings.items():
        ours, base, owner = wall["stylist"], wall["owner, stubbed"], wall["owner"]
        n = len(ours)
        ratio = median(ours) / median(base)
        RESULTS.append(Result(f"{page}, median of {n}", ms(median(ours)), ms(median(base)),
                              f"{ratio:.2f}×", f"≤ {TARGET_RATIO:.2f}×", ratio <= TARGET_RATIO))
        RESULTS.append(Result(f"{page}, p95 of {n}", ms(p95(ours)), ms(p95(base)),
                              f"{p95(ours) / p95(base):.2f}×", "(information)", None))
        c_ours, c_base = median(cpu["stylist"]), median(cpu["owner, stubbed"])
        RESULTS.append(Result(f"{page}, median CPU time", ms(c_ours), ms(c_base),
                              f"{c_ours / c_base:.2f}×", "(information)", None))
        RESULTS.append(Result(f"{page}, SQL queries per request", str(queries["stylist"]),
                              str(queries["owner, stubbed"]),
                              f"{queries['stylist'] - queries['owner, stubbed']:+d}",
                              "(information)", None))
        RESULTS.append(Result(f"{page}: owner without stubs, median",
                              ms(median(owner)), ms(median(base)),
                              f"{median(owner) / median(base):.2f}×",
                              f"(information; {queries['owner']} queries)", None))


def page_urls(stylist, rng: random.Random, requests: int) -> dict:
    from access.models import Grant
    from records import selectors

    codes = list(selectors.clients_visible_to(stylist).order_by("code")
                 .values_list("code", flat=True))
    granted = list(Grant.objects.filter(user=stylist, revoked_at__isnull=True,
                                        client_id__in=selectors.clients_visible_to(stylist)
                                        .filter(assigned_staff=stylist).values("pk"))
                   .values_list("client_id", flat=True))
    detail = rng.sample(granted, min(len(granted), requests + 10))
    while len(detail) < requests + 10:
        detail += detail
    return {
        # Any page of the stylist's list: the list pages by code (?after=<code>).
        "client list page (50 rows)": [f"/clients/?after={rng.choice(codes)}"
                                       for _ in range(requests + 10)],
        "client detail page (assigned client, L4)": [f"/clients/{pk}/"
                                                     for pk in detail[:requests + 10]],
    }
