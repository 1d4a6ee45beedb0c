"""Synthetic audit events: a valid hash chain over three years of a salon's work, made
as COPY text (bench/audit.py, phase b)."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import random
import uuid

from bench.audit_log import (
    CLIENTS,
    YEARS_DAYS,
)

# (action, weight, kind, data class, purpose). Kinds: client (one client), list (a page of
# clients as subjects), search (a few subjects), auth, audit, system.
ACTIONS = (
    ("client.open", 30, "client", 4, "view client record"),
    ("client.list", 12, "list", 2, "browse clients"),
    ("client.search", 7, "search", 2, "browse clients"),
    ("photo.view", 8, "client", 4, "view a photo"),
    ("client.open_for_edit", 5, "client", 3, "edit client record"),
    ("client.update", 5, "client", 3, "update client record"),
    ("treatment.create", 8, "client", 3, "record a treatment"),
    ("photo.create", 3, "client", 4, "add a photo"),
    ("form.view", 2, "client", 4, "view a signed form"),
    ("form.create", 1, "client", 4, "add a signed form"),
    ("auth.login", 9, "auth", 0, ""),
    ("auth.logout", 6, "auth", 0, ""),
    ("auth.login_failed", 1, "auth", 0, ""),
    ("auth.idle_timeout", 2, "auth", 0, ""),
    ("grant.give", 0.5, "client", 0, ""),
    ("audit.export.csv", 0.05, "audit", 0, ""),
    ("system.open", 0.05, "system", 4, "nightly backup"),
)
ROLE_WEIGHT = {"stylist": 6, "beautician": 6, "reception": 5, "manager": 3, "owner": 2,
               "auditor": 0.3}
USER_AGENTS = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Linux; Android 14; V2307A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.47",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
)
NULL = "\\N"  # COPY text format
AE_COLUMNS = ("id", "seq", "at", "actor_id", "actor_label", "role", "action", "client_id",
              "client_code", "location_code", "subjects", "data_class", "purpose",
              "break_glass", "outcome", "detail", "ip", "user_agent", "request_id",
              "prev_hash", "hash")


def client_pool(seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """100,000 synthetic clients, 60 % in bj: (ids, codes) per branch. Their codes start at
    100001 so they never name a client that seed_demo creates (BJ-000001...)."""
    rng = random.Random(f"bench-audit-clients:{seed}")
    pools = {}
    for loc, count in (("bj", CLIENTS * 6 // 10), ("sh", CLIENTS - CLIENTS * 6 // 10)):
        ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]
        codes = [f"{loc.upper()}-{100_001 + i:06d}" for i in range(count)]
        pools[loc] = (ids, codes)
    return pools


def _day_counts(n: int, days: int, rng: random.Random, first_day: dt.date) -> list[int]:
    """Events per day: busier at weekends, growing over the years, a little noise."""
    weights = []
    for d in range(days):
        day = first_day + dt.timedelta(days=d)
        w = (1.3 if day.weekday() >= 5 else 1.0) * (0.8 + 0.4 * d / days)
        weights.append(w * (0.85 + 0.3 * rng.random()))
    total = sum(weights)
    counts = [int(n * w / total) for w in weights]
    for i in range(n - sum(counts)):
        counts[-1 - (i % days)] += 1
    return counts


class EventGenerator:
    """Rows of audit_accessevent as COPY text, chained from (start_seq, start_hash).

    The canonical form each hash covers is written with f-strings for speed; `check`
    rebuilds sampled rows as Python values and compares with audit.chain.digest, and
    verify_chain over the loaded table checks all of them.
    """

    def __init__(self, *, n: int, seed: int, staff: list[tuple[int, str, str, str]],
                 start_seq: int, start_id: int, start_hash: str, per_list: int,
                 last_day: dt.date, tz) -> None:
        self.n, self.per_list = n, per_list
        self.rng = random.Random(f"bench-audit-events:{seed}")
        self.pools = client_pool(seed)
        self.seq, self.id, self.prev = start_seq, start_id, start_hash
        self.first_day = last_day - dt.timedelta(days=YEARS_DAYS - 1)
        self.tz = tz
        self.counts = _day_counts(n, YEARS_DAYS, self.rng, self.first_day)
        cum, total = [], 0.0
        for action in ACTIONS:
            total += action[1]
            cum.append(total)
        self.action_cum, self.action_total = cum, total
        # staff: (id, username, role, location code or "")
        self.staff = staff
        workers = [s for s in staff if s[2] != "auditor"]
        wcum, total = [], 0.0
        for s in workers:
            total += ROLE_WEIGHT.get(s[2], 1)
            wcum.append(total)
        self.workers, self.worker_cum, self.worker_total = workers, wcum, total
        self.auditors = [s for s in staff if s[2] in ("auditor", "owner")]
        self.ips = {s[0]: [f"192.168.{1 if s[3] != 'sh' else 2}.{10 + (s[0] * 7 + k) % 200}"
                           for k in range(3)] for s in staff}
        self.samples: list[tuple[dict, str]] = []

    def _actor(self, kind: str):
        rnd = self.rng.random
        if kind == "system":
            return None
        if kind == "audit":
            return self.auditors[int(rnd() * len(self.auditors))]
        if kind == "auth" and rnd() < 0.02:
            return self.staff[int(rnd() * len(self.staff))]
        return self.workers[bisect.bisect(self.worker_cum, rnd() * self.worker_total)]

    def chunks(self, rows_per_chunk: int = 20_000):
        """Yield (events COPY text, subjects COPY text) chunks until n events are made.

        One long loop on purpose: it runs 10 million times, and local names and inline
        f-strings make it several times faster than a call per field would."""
        rnd, getrandbits = self.rng.random, self.rng.getrandbits
        pools, sha = self.pools, hashlib.sha256
        actions, action_cum, action_total = ACTIONS, self.action_cum, self.action_total
        lines: list[str] = []
        subject_lines: list[str] = []
        made = 0
        sample_every = max(1, self.n // 200)
        for d, count in enumerate(self.counts):
            day = self.first_day + dt.timedelta(days=d)
            base = (dt.datetime.combine(day, dt.time(), tzinfo=self.tz)
                    .astimezone(dt.UTC).replace(tzinfo=None))
            offsets = []
            for _ in range(count):
                if rnd() < 0.97:  # opening hours, 10:00-21:00 local
                    offsets.append(int((36_000 + 39_600 * rnd()) * 1e6))
                else:  # early or late
                    offsets.append(int((25_200 + 63_000 * rnd()) * 1e6))
            offsets.sort()
            for off in offsets:
                at = (base + dt.timedelta(microseconds=off)).isoformat(
                    timespec="microseconds") + "Z"
                glass = rnd() < 0.001
                if glass:
                    action, _w, kind, dc, purpose = (
                        ("break_glass.open", 0, "client", 0, "") if rnd() < 0.5
                        else ("client.open", 0, "client", 4, "view client record"))
                else:
                    action, _w, kind, dc, purpose = actions[
                        bisect.bisect(action_cum, rnd() * action_total)]
                actor = self._actor(kind)
                denied = action == "auth.login_failed" or (
                    kind in ("client", "list", "search", "audit") and rnd() < 0.02)
                subjects = "[]"
                cid = code = loc = ""
                detail = "{}"
                if actor is None:
                    actor_id, label, role = "null", "system:backup", "system"
                    ip, ua, rid = None, "", ""
                    detail = '{"all_subjects":true}'
                else:
                    actor_id, label, role = str(actor[0]), actor[1], actor[2]
                    ips = self.ips[actor[0]]
                    ip = ips[int(rnd() * 3)]
                    ua = USER_AGENTS[actor[0] % 4] if rnd() < 0.9 else USER_AGENTS[
                        int(rnd() * 4)]
                    rid = f"{getrandbits(128):032x}"
                if kind in ("client", "list", "search"):
                    loc = actor[3] if actor and actor[3] and rnd() < 0.92 else (
                        "bj" if rnd() < 0.6 else "sh")
                    ids, codes = pools[loc]
                if kind == "client":
                    i = int(len(ids) * rnd() ** 1.6)
                    cid, code = ids[i], codes[i]
                    if action == "client.open":
                        granted = "true" if rnd() < 0.7 and not glass else "false"
                        detail = (f'{{"break_glass_id":"{uuid.UUID(int=getrandbits(128))}",'
                                  f'"granted":{granted}}}' if glass else
                                  f'{{"granted":{granted}}}')
                    elif action == "break_glass.open":
                        detail = (f'{{"break_glass_id":"{uuid.UUID(int=getrandbits(128))}",'
                                  f'"client_code":"{code}","minutes":30}}')
                    elif action == "grant.give":
                        detail = (f'{{"client_code":"{code}","expires_at":null,'
                                  f'"source":"assignment","user":"{label}"}}')
                elif kind == "list":
                    start = int((len(ids) - self.per_list) * rnd())
                    shown = ids[start:start + self.per_list]
                    detail = f'{{"page":{1 + int(rnd() * 40)}}}'
                elif kind == "search":
                    shown = [ids[int(len(ids) * rnd())] for _ in range(1 + int(rnd() * 3))]
                    detail = (f'{{"page":1,"query_kind":"'
                              f'{("phone", "phone_last4", "name")[int(rnd() * 3)]}",'
                              f'"term_hmac":"{getrandbits(256):064x}"}}')
                elif kind == "audit":
                    detail = f'{{"filter":{{}},"rows":{int(rnd() * 5000)}}}'
                if kind in ("list", "search") and not denied:
                    subjects = "[" + ",".join(f'"{s}"' for s in shown) + "]"
                    event_id = str(self.id + 1)
                    subject_lines.extend(f"{event_id}\t{s}\n" for s in shown)
                self.seq += 1
                self.id += 1
                if kind == "auth" or (denied and action not in ("photo.view", "form.view")):
                    data_class = 0  # the door records `want or 0` for a denial
                else:
                    data_class = dc
                outcome = "denied" if denied else "allowed"
                cid_json = f'"{cid}"' if cid else "null"
                ip_json = f'"{ip}"' if ip else "null"
                canonical = (
                    f'[{self.seq},"{at}",{actor_id},"{label}","{role}","{action}",{cid_json},'
                    f'"{code}","{loc}",{subjects},{data_class},"{purpose}",'
                    f'{"true" if glass else "false"},"{outcome}",{detail},{ip_json},"{ua}",'
                    f'"{rid}","{self.prev}"]')
                digest = sha(canonical.encode()).hexdigest()
                lines.append(
                    f"{self.id}\t{self.seq}\t{at}\t{actor_id if actor else NULL}\t{label}\t"
                    f"{role}\t{action}\t{cid or NULL}\t{code}\t{loc}\t{subjects}\t"
                    f"{data_class}\t{purpose}\t{'t' if glass else 'f'}\t{outcome}\t{detail}\t"
                    f"{ip or NULL}\t{ua}\t{rid}\t{self.prev}\t{digest}\n")
                if made % sample_every == 0 or made < 200:
                    self.samples.append(({
                        "seq": self.seq, "at": dt.datetime.fromisoformat(at),
                        "actor_id": actor[0] if actor else None, "actor_label": label,
                        "role": role, "action": action,
                        "client_id": uuid.UUID(cid) if cid else None, "client_code": code,
                        "location_code": loc, "subjects": json.loads(subjects),
                        "data_class": data_class, "purpose": purpose, "break_glass": glass,
                        "outcome": outcome, "detail": json.loads(detail), "ip": ip,
                        "user_agent": ua, "request_id": rid, "prev_hash": self.prev,
                    }, digest))
                self.prev = digest
                made += 1
                if len(lines) >= rows_per_chunk:
                    yield "".join(lines), "".join(subject_lines)
                    lines, subject_lines = [], []
        if lines:
            yield "".join(lines), "".join(subject_lines)

    def check(self) -> int:
        """Compare sampled rows with audit.chain.digest; raise on any difference."""
        from audit import chain

        for row, digest in self.samples:
            if chain.digest(row) != digest:
                raise SystemExit(f"synthetic event #{row['seq']}: the generator's canonical "
                                 f"form differs from audit.chain.canonical:\n"
                                 f"{chain.canonical(row).decode()}")
        return len(self.samples)
