"""2. Search through the blind indexes (the selector and the whole posted search page)
against decrypting and scanning every client."""

from __future__ import annotations

import random
import time

from bench.client_records import BATCH, RESULTS
from bench.common import Result, median, ms, say


def _search(http, q: str) -> float:
    """Wall time of one search: the term is posted, as the search box does."""
    began = time.perf_counter()
    response = http.post("/clients/", {"q": q})
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"POST /clients/ (a search) answered {response.status_code}")
    return elapsed


def _scan(field: str, predicates: dict, limit: int) -> tuple[float, int, dict]:
    """Decrypt `field` of up to `limit` clients as a system job and test each predicate."""
    from access import door
    from records.models import Client
    from vault import scope as vault_scope
    from vault.classes import DataClass

    hits: dict[str, list] = {name: [] for name in predicates}
    began = time.perf_counter()
    scanned, last = 0, None
    with door.open_for_system(actor="bench", purpose="benchmark: decrypt-and-scan baseline",
                              ceiling=DataClass.L2):
        scope = vault_scope.current()
        while scanned < limit:
            query = Client.objects.order_by("pk").only("id", field)
            chunk = list((query.filter(pk__gt=last) if last else query)[:min(BATCH, limit - scanned)])
            if not chunk:
                break
            scope.prefetch(c.pk for c in chunk)
            for client in chunk:
                value = getattr(client, field)
                if value is None:
                    continue
                for name, test in predicates.items():
                    if test(value):
                        hits[name].append(client.pk)
            scanned += len(chunk)
            last = chunk[-1].pk
    return time.perf_counter() - began, scanned, hits


def search_terms(owner, rng: random.Random, queries: int) -> dict[str, list[tuple[str, object]]]:
    """(term, the client it was taken from) for each kind of search."""
    from access import door
    from records.models import Client
    from vault.classes import DataClass

    ids = rng.sample(list(Client.objects.values_list("pk", flat=True)), queries)
    with door.open_for_system(actor="bench", purpose="benchmark setup: pick search terms",
                              subjects=ids, ceiling=DataClass.L2):
        people = [(c.pk, str(c.phone), str(c.full_name))
                  for c in Client.objects.filter(pk__in=ids).only("id", "phone", "full_name")]
    return {
        "phone (full number)": [(phone, pk) for pk, phone, _ in people],
        "phone (last 4 digits)": [(phone[-4:], pk) for pk, phone, _ in people],
        "name (full name)": [(name, pk) for pk, _, name in people],
    }


def time_blind(http, owner, label: str, terms: list) -> tuple[list[float], list[float], set]:
    """The selector alone and the whole posted page, per term; the clients the first term
    finds (to compare with the scan)."""
    from records import selectors

    for q, _pk in terms[:5]:  # warm up
        list(selectors.client_search(owner, q)[1][:50])
        _search(http, q)
    selector, view, missing, found = [], [], 0, set()
    for q, pk in terms:
        began = time.perf_counter()
        _kind, clients = selectors.client_search(owner, q)
        rows = list(clients.select_related("location", "assigned_staff")[:50])
        selector.append(time.perf_counter() - began)
        missing += pk not in {c.pk for c in rows} and len(rows) < 50
        if q == terms[0][0]:
            found = set(clients.values_list("pk", flat=True))
        view.append(_search(http, q))
    if missing:
        raise SystemExit(f"search by {label}: {missing} clients not found by their own terms")
    say(f"search by {label}: blind index median {ms(median(selector))}, list view with a "
        f"posted term {ms(median(view))}")
    return selector, view, found


def scan_baseline(searches: dict, limit: int, total: int) -> tuple[dict, dict, int]:
    """Decrypt every client's phone (one scan serves both phone searches) and every name (a
    second scan), comparing normalised values as the blind index does. Returns the seconds
    and the matches of each kind of search, and how many clients were scanned."""
    from vault import blind

    phone_q, last4_q = searches["phone (full number)"][0][0], searches["phone (last 4 digits)"][0][0]
    name_q = searches["name (full name)"][0][0]
    target_phone, target_name = blind.normalise_phone(phone_q), blind.normalise_name(name_q)
    # As records.selectors.classify_query: an entry of two characters or fewer may also be
    # a surname alone, so it matches clients of that surname too.
    target_surname = blind.surname_of(name_q) if len(target_name) <= 2 else None

    def name_matches(value: str) -> bool:
        return (blind.normalise_name(value) == target_name
                or (target_surname is not None and blind.surname_of(value) == target_surname))

    say(f"decrypt-and-scan baseline over {limit} of {total} clients: phones...")
    phone_secs, scanned, phone_hits = _scan("phone", {
        "phone (full number)": lambda v: blind.normalise_phone(v) == target_phone,
        "phone (last 4 digits)": lambda v: blind.normalise_phone(v)[-4:] == last4_q,
    }, limit)
    say(f"  {scanned} phones in {phone_secs:.2f}s; names...")
    name_secs, _, name_hits = _scan("full_name", {"name (full name)": name_matches}, limit)
    say(f"  {scanned} names in {name_secs:.2f}s")
    seconds = {label: name_secs if label.startswith("name") else phone_secs
               for label in searches}
    return seconds, phone_hits | name_hits, scanned


def measure_search(http, owner, rng: random.Random, queries: int, scan_limit: int) -> None:
    from records.models import Client

    total = Client.objects.count()
    searches = search_terms(owner, rng, queries)
    blind_times, found = {}, {}
    for label, terms in searches.items():
        *blind_times[label], found[label] = time_blind(http, owner, label, terms)
    limit = total if scan_limit <= 0 else min(scan_limit, total)
    seconds, hits, scanned = scan_baseline(searches, limit, total)
    if scanned == total:
        for label, matches in hits.items():
            agree = set(matches) == found[label]
            say(f"  scan and blind index agree on {label} {'✓' if agree else '✗ MISMATCH'} "
                f"({len(matches)} matches)")
    scale = total / scanned
    note = "" if scanned == total else f" (scan of {scanned:,} ×{scale:.1f}, linear)"
    for label, (selector, view) in blind_times.items():
        search_rows(label, seconds[label] * scale, note, selector, view)


def search_rows(label: str, secs: float, note: str, selector: list[float],
                view: list[float]) -> None:
    m = median(selector)
    RESULTS.append(Result(
        f"search {label}, blind index (client_search), median of {len(selector)}", ms(m),
        f"{ms(secs)} scan{note}", f"{secs / m:,.0f}× faster", "≥ 100× faster and < 20 ms",
        secs / m >= 100 and m < 0.020))
    # The whole page: search, door, audit event, decrypting and rendering up to 50 rows.
    m = median(view)
    RESULTS.append(Result(
        f"search {label}, list page POST /clients/, median of {len(view)}", ms(m),
        f"{ms(secs)} scan{note}", f"{secs / m:,.0f}× faster", "≥ 100× faster",
        secs / m >= 100))
