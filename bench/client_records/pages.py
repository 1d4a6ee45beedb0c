"""1. The client list and detail pages through the real views against the same templates
over the plaintext twins, and their profiles."""

from __future__ import annotations

import cProfile
import difflib
import gc
import io
import math
import pstats
import random
import re

from bench.client_records import RESULTS
from bench.common import Result, median, ms, p95, print_profile, say, timed_get

_VOLATILE = re.compile(r'(name="csrfmiddlewaretoken" value=|name="next" type="hidden" value=)"[^"]*"')
# The menu marks the page it is on, and the plaintext pages live at other URLs.
_CURRENT = re.compile(r' aria-current="page"')


def _normalised(html: bytes) -> str:
    return _CURRENT.sub("", _VOLATILE.sub(r'\1""', html.decode()))


def page_kinds(requests: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """(encrypted URL, plaintext URL) pairs of each kind of page."""
    from records.models import Client

    codes = list(Client.objects.order_by("code").values_list("code", flat=True))
    pages = max(1, math.ceil(len(codes) / 50))
    # Any page: the list pages by code (?after=<the last code of the page before>).
    starts = [50 * (rng.randint(1, pages) - 1) for _ in range(requests)]
    after = [codes[start - 1] if start else "" for start in starts]
    all_ids = list(Client.objects.values_list("pk", flat=True))
    detail_ids = rng.sample(all_ids, min(requests, len(all_ids)))
    return {
        # The page staff land on, and any page of the whole list.
        "client list, page 1 (50 rows)": [("/clients/", "/bench/plain/clients/")] * requests,
        f"client list, random page of {pages:,}": [
            (f"/clients/?after={a}", f"/bench/plain/clients/?after={a}") for a in after],
        "client detail page": [(f"/clients/{pk}/", f"/bench/plain/clients/{pk}/")
                               for pk in detail_ids],
    }


def check_identical(http, name: str, urls: list[tuple[str, str]]) -> None:
    """The two variants render the same HTML (the plaintext twins hold the same data)."""
    sample = list(dict.fromkeys(urls))[:min(20, len(urls) // 2)]
    same = sum(_normalised(http.get(enc).content) == _normalised(http.get(plain).content)
               for enc, plain in sample)
    say(f"{name}: {same} of {len(sample)} sampled pages render identical HTML "
        f"encrypted and plaintext")
    if same == 0:
        enc, plain = urls[0]
        diff = difflib.unified_diff(_normalised(http.get(enc).content).splitlines(),
                                    _normalised(http.get(plain).content).splitlines(),
                                    "encrypted", "plaintext", n=1, lineterm="")
        print("\n".join(list(diff)[:40]))
        raise SystemExit(f"{name}: encrypted and plaintext pages differ (above): the "
                         f"plaintext view or copy no longer matches the real one")


def time_pairs(http, urls: list[tuple[str, str]]) -> dict[str, list[float]]:
    """Wall and CPU times of both variants, alternating which goes first."""
    # Warm up: templates, connections, translation catalogs.
    for enc, plain in urls[:min(10, len(urls) // 4)]:
        timed_get(http, enc)
        timed_get(http, plain)
    times: dict[str, list[float]] = {"ours": [], "base": [], "ours_cpu": [], "base_cpu": []}
    gc.collect()
    for i, (enc, plain) in enumerate(urls):
        # Alternate the order so that drift and caches favour neither side.
        order = (("base", plain), ("ours", enc)) if i % 2 else (("ours", enc), ("base", plain))
        for side, url in order:
            times[side].append(timed_get(http, url, times[f"{side}_cpu"]))
    return times


def add_rows(name: str, times: dict[str, list[float]]) -> None:
    ours, base = times["ours"], times["base"]
    for label, pick in (("median", median), ("p95", p95)):
        o, b = pick(ours), pick(base)
        RESULTS.append(Result(f"{name}, {label} of {len(ours)}", ms(o), ms(b),
                              f"{o / b:.2f}× plaintext", "≤ 1.30× plaintext",
                              o / b <= 1.3 if label == "median" else None))
    # CPU time leaves out waiting (for the disk, or for other processes on a busy
    # machine): information only, the target is on wall time.
    o, b = median(times["ours_cpu"]), median(times["base_cpu"])
    RESULTS.append(Result(f"{name}, median CPU time", ms(o), ms(b), f"{o / b:.2f}× plaintext",
                          "(information)", None))
    say(f"{name}: median {ms(median(ours))} encrypted vs {ms(median(base))} plaintext "
        f"(CPU {ms(o)} vs {ms(b)})")


def measure_pages(http, requests: int, rng: random.Random) -> dict:
    """Each kind of page, both variants; returns the URLs of each kind (for profiling)."""
    kinds = page_kinds(requests, rng)
    for name, urls in kinds.items():
        check_identical(http, name, urls)
    for name, urls in kinds.items():
        add_rows(name, time_pairs(http, urls))
    return kinds


def profile_pages(http, kinds: dict, requests: int) -> None:
    """Where the time of the encrypted pages goes, against the plaintext ones (cProfile)."""
    for name, urls in kinds.items():
        for variant, index in (("encrypted", 0), ("plaintext", 1)):
            sample = [pair[index] for pair in urls[:requests]]
            profiler = cProfile.Profile()
            profiler.enable()
            for url in sample:
                http.get(url)
            profiler.disable()
            print_profile(profiler, f"{name}, {variant}", len(sample), top=18)
            if variant == "encrypted":
                print_top_own_time(profiler)


def print_top_own_time(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
    print("top functions by own time (all code):")
    print("\n".join(lines[start:start + 13]))
