"""The fast paths behave as the plain ones did: exact code matches for any case typed, time
ranges bounded by seq at their edges, per-day counts from local midnight, one canonical
form for writing and verifying, incremental and parallel verification that still find
every broken link."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit import chain, integrity, selectors, services
from audit.models import AccessEvent, ChainHead, VerificationRun
from tests.audit.conftest import tamper, triggers_lifted, write

# -- client codes ------------------------------------------------------------------------


def test_a_lower_case_code_finds_the_clients_history(login, auditor, client_record, stylist):
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    typed = client_record.code.lower()
    assert selectors.client_ids_for_code(f" {typed} ") == [client_record.pk]
    response = login(auditor).get(reverse("audit:client", args=[typed]))
    rows = response.context["rows"]
    assert rows and all(e.client_id == client_record.pk for e in rows)


def test_the_subject_report_records_the_code_as_records_write_it(login, owner, client_record,
                                                                 stylist):
    login(stylist).get(reverse("records:client_detail", args=[client_record.pk]))
    response = login(owner).get(reverse("audit:subject_report"),
                                {"code": client_record.code.lower()})
    assert response.status_code == 200
    report = AccessEvent.objects.filter(action="audit.subject_report").get()
    assert report.client_code == client_record.code
    assert report.client_id == client_record.pk


def test_a_client_listed_in_many_pages_is_still_found(db, monkeypatch):
    client_id = uuid.uuid4()
    opened = services.record(actor=None, actor_label="x", action="client.open",
                             outcome="allowed", client_id=client_id, client_code="BJ-000777")
    listed = [services.record(actor=None, actor_label="x", action="client.list",
                              outcome="allowed", subjects=[client_id]) for _ in range(4)]
    monkeypatch.setattr(selectors, "LISTED_AS_LIST", 2)  # more than that: a subquery
    found = {e.seq for e in selectors.filtered({"client_code": "bj-000777"})}
    assert found == {opened.seq, *(e.seq for e in listed)}


# -- time ranges -------------------------------------------------------------------------


@pytest.fixture
def hourly(record_at):
    """An event at every full hour of two days, oldest first."""
    start = timezone.make_aware(dt.datetime(2026, 3, 1, 0, 0))
    return [record_at(start + dt.timedelta(hours=h), purpose=str(h)) for h in range(48)]


def _seqs(data: dict) -> list[int]:
    return [e.seq for e in selectors.filtered(data)]


def test_a_time_range_includes_its_start_and_excludes_its_end(hourly):
    since, until = hourly[5].at, hourly[9].at
    assert _seqs({"since": since, "until": until}) == [e.seq for e in reversed(hourly[5:9])]
    assert _seqs({"since": since + dt.timedelta(microseconds=1), "until": until}) == [
        e.seq for e in reversed(hourly[6:9])]
    assert _seqs({"since": since, "until": until + dt.timedelta(microseconds=1)}) == [
        e.seq for e in reversed(hourly[5:10])]


def test_a_short_and_a_long_range_give_what_the_plain_filter_gives(hourly, record_at):
    record_at(hourly[0].at - dt.timedelta(days=60), purpose="long ago")
    for since, until in ((hourly[3].at, hourly[30].at),
                         (hourly[0].at - dt.timedelta(days=90), hourly[2].at)):
        plain = (AccessEvent.objects.filter(at__gte=since, at__lt=until).order_by("-seq")
                 .values_list("seq", flat=True))
        assert _seqs({"since": since, "until": until}) == list(plain)


def test_a_range_without_events_is_empty(hourly):
    since = hourly[-1].at + dt.timedelta(hours=1)
    assert _seqs({"since": since, "until": since + dt.timedelta(days=1)}) == []


def test_a_time_range_combines_with_other_filters(hourly, record_at, stylist):
    mine = record_at(hourly[10].at + dt.timedelta(minutes=1), actor=stylist,
                     actor_label="stylist", action="client.open")
    assert _seqs({"person": stylist, "since": hourly[10].at, "until": hourly[11].at}) == [
        mine.seq]


def test_a_persons_range_is_exact_at_both_ends_and_out_of_order(hourly, record_at, stylist):
    since, until = hourly[10].at, hourly[11].at

    def mine(at):
        return record_at(at, actor=stylist, actor_label="stylist", action="client.open")

    first = mine(since)
    mine(since - dt.timedelta(microseconds=1))  # recorded late, between two in the range
    last = mine(until - dt.timedelta(microseconds=1))
    mine(until)
    assert _seqs({"person": stylist, "since": since, "until": until}) == [last.seq, first.seq]


def test_per_day_counts_from_local_midnight(record_at):
    today = dt.date(2026, 3, 30)
    midnight = timezone.make_aware(dt.datetime(2026, 3, 1))  # the first day of 30
    record_at(midnight - dt.timedelta(microseconds=1))  # the day before: not counted
    record_at(midnight)
    record_at(midnight + dt.timedelta(hours=23, minutes=59))
    record_at(timezone.make_aware(dt.datetime(2026, 3, 30, 23, 59)))
    days = selectors.per_day(AccessEvent.objects.all(), today=today)
    assert len(days) == 30 and days[0]["day"] == dt.date(2026, 3, 1)
    assert days[0]["n"] == 2 and days[-1]["n"] == 1
    assert sum(d["n"] for d in days) == 3


# -- one canonical form ------------------------------------------------------------------


def _reference(row: dict) -> bytes:
    """The canonical form as first defined: json.dumps of the values of FIELDS."""
    values = [row[name] for name in chain.FIELDS]
    values[1] = values[1].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    values[6] = str(values[6]) if values[6] is not None else None
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def test_the_canonical_form_is_byte_identical_to_its_json_definition():
    rng = random.Random(4)
    alphabet = ['a', '"', '\\', '\n', '\x01', 'é', '李', '\u2028', '😀', '/', '\t', '\x7f', ' ']

    def text():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))

    for _ in range(3000):
        row = {
            "seq": rng.randint(1, 10**12),
            "at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
            + dt.timedelta(microseconds=rng.randint(0, 10**14)),
            "actor_id": rng.choice([None, rng.randint(1, 10**6)]), "actor_label": text(),
            "role": text(), "action": text(), "client_id": rng.choice([None, uuid.uuid4()]),
            "client_code": text(), "location_code": text(),
            "subjects": rng.choice([[], [str(uuid.uuid4())], [text(), text()]]),
            "data_class": rng.randint(0, 4), "purpose": text(),
            "break_glass": rng.random() < 0.5, "outcome": text(),
            "detail": rng.choice([{}, {"b": 1, "a": [1.5, None, True], text(): {"z": text()}},
                                  {"rows": 10**20, "id": uuid.uuid4()}]),
            "ip": rng.choice([None, "10.0.0.1", "2001:db8::1"]), "user_agent": text(),
            "request_id": text(), "prev_hash": text(),
        }
        assert chain.canonical(row) == _reference(row)
        middle = chain.canonical_middle(row)
        assert f'[{row["seq"]},{middle},{json.dumps(row["prev_hash"], ensure_ascii=False)}]' \
            .encode() == _reference(row)


def test_the_database_hashes_what_python_would(db):
    """On PostgreSQL the append statement hashes; the hash must be chain.digest's."""
    detail = {"z": "李娜\n\"quoted\"", "a": [1, 2.5, None], "nested": {"b": True, "a": "é"}}
    with_facts = services.record(actor=None, actor_label="系统\t", action="test.unicode",
                                 outcome="allowed", client_id=uuid.uuid4(),
                                 client_code="BJ-000001", subjects=[uuid.uuid4()],
                                 purpose="😀", detail=detail)
    stored = AccessEvent.objects.get(pk=with_facts.pk)
    assert stored.hash == with_facts.hash
    assert chain.digest({name: getattr(stored, name) for name in chain.FIELDS}) == stored.hash


def test_an_event_written_inside_a_transaction_links_and_rolls_back_with_it(db):
    write(2)
    with transaction.atomic():
        inside = write(1)[0]
        assert ChainHead.objects.get().seq == inside.seq
    with pytest.raises(RuntimeError), transaction.atomic():
        write(1)
        raise RuntimeError
    after = write(1)[0]
    assert after.seq == inside.seq + 1 and after.prev_hash == inside.hash
    assert integrity.verify_chain().ok


def _rich_event() -> AccessEvent:
    event = services._event(
        actor=None, actor_label="系统\t", action="test.rich", outcome="denied", role="stylist",
        client_id=uuid.uuid4(), client_code="BJ-000001", location_code="bj",
        subjects=[uuid.uuid4(), uuid.uuid4()], data_class=4, purpose="😀", break_glass=True,
        detail={"z": "李娜", "a": [1, 2.5, None]})
    event.ip, event.user_agent, event.request_id = "2001:db8::1", "Mozilla/5.0", "f" * 32
    event.seq, event.prev_hash, event.hash = 7, "a" * 64, "b" * 64
    return event


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite append")
def test_the_direct_sqlite_append_stores_what_django_would(db):
    event = _rich_event()
    adapters = services._sqlite_adapters(connection)
    assert services._sqlite_values(event, adapters) == [
        f.get_db_prep_save(getattr(event, f.attname), connection)
        for f in services._EVENT_COLUMNS]
    event.actor_id = None
    event.ip = None
    assert services._sqlite_values(event, adapters) == [
        f.get_db_prep_save(getattr(event, f.attname), connection)
        for f in services._EVENT_COLUMNS]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite append")
@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_outside_a_transaction_sqlite_appends_directly_and_fails_cleanly():
    assert not connection.in_atomic_block
    first = services.record(actor=None, actor_label="system:test", action="test.first",
                            outcome="allowed", client_id=uuid.uuid4(), subjects=[uuid.uuid4()],
                            detail={"k": "v"})
    assert (first.seq, first.prev_hash) == (1, chain.GENESIS)
    second = services.record(actor=None, actor_label="system:test", action="test.second",
                             outcome="allowed")
    assert (second.seq, second.prev_hash) == (2, first.hash)
    stored = AccessEvent.objects.get(pk=first.pk)
    assert chain.digest({name: getattr(stored, name) for name in chain.FIELDS}) == first.hash

    from django.contrib.auth.models import User

    ghost = User(pk=987654, username="ghost")  # not in the table: the key check fails
    with pytest.raises(services.AuditUnavailable):
        services.record(actor=ghost, actor_label="ghost", action="test.ghost",
                        outcome="allowed")
    assert not connection.connection.in_transaction
    assert ChainHead.objects.get().seq == 2
    third = services.record(actor=None, actor_label="system:test", action="test.third",
                            outcome="allowed")
    assert (third.seq, third.prev_hash) == (3, second.hash)
    assert integrity.verify_chain().ok


# -- incremental verification ------------------------------------------------------------


def _verify(*args) -> str:
    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def _broken(*args) -> str:
    with pytest.raises(CommandError) as failure:
        _verify(*args)
    return str(failure.value)


def test_a_nightly_run_verifies_only_the_events_since_the_last_run(db):
    write(10)
    assert "whole chain" in _verify()
    first = VerificationRun.objects.get()
    assert first.full and first.last_seq == 10 and first.signature
    write(3)
    out = _verify()
    run = VerificationRun.objects.order_by("-pk").first()
    assert "events after #10" in out and "3 events verified" in out
    assert not run.full and run.start_seq == 10 and run.checked == 3 and run.last_seq == 13


def test_a_nightly_run_with_nothing_new_checks_the_head(db):
    write(4)
    _verify()
    assert "0 events verified" in _verify()
    tamper("DELETE FROM audit_accessevent WHERE seq > %s", [2])
    message = _broken()
    assert "#3" in message and "removed" in message


def test_the_incremental_run_catches_new_tampering_and_full_catches_old(db):
    write(6)
    _verify()
    write(4)
    tamper("UPDATE audit_accessevent SET purpose = %s WHERE seq = %s", ["hidden", 8])
    message = _broken()
    assert "#8" in message and "altered" in message
    run = VerificationRun.objects.order_by("-pk").first()
    assert not run.ok and not run.full and run.first_bad_seq == 8


def test_old_tampering_is_left_to_the_full_run(db):
    write(6)
    _verify()
    tamper("UPDATE audit_accessevent SET purpose = %s WHERE seq = %s", ["hidden", 2])
    write(2)
    assert "2 events verified" in _verify()  # events 7 and 8 only
    message = _broken("--full")
    assert "#2" in message and "altered" in message


def test_the_last_verified_link_is_checked_before_it_is_trusted(db):
    write(5)
    _verify()
    tamper("UPDATE audit_accessevent SET hash = %s WHERE seq = %s", ["f" * 64, 5])
    message = _broken()
    assert "#5" in message and "altered" in message


def test_a_chain_rewritten_consistently_fails_on_the_signed_link(db):
    write(5)
    _verify()
    previous = chain.GENESIS
    with triggers_lifted(), connection.cursor() as cursor:
        for event in AccessEvent.objects.order_by("seq"):
            values = {name: getattr(event, name) for name in chain.FIELDS}
            values |= {"prev_hash": previous,
                       "purpose": "rewritten" if event.seq == 2 else event.purpose}
            digest = chain.digest(values)
            cursor.execute("UPDATE audit_accessevent SET purpose = %s, prev_hash = %s, "
                           "hash = %s WHERE seq = %s",
                           [values["purpose"], previous, digest, event.seq])
            previous = digest
        cursor.execute("UPDATE audit_chainhead SET hash = %s", [previous])
    assert integrity.verify_chain(full=True).ok  # a whole new chain, consistent in itself
    message = _broken()
    assert "#5" in message and "after it was verified" in message


def test_a_forged_verification_run_is_not_trusted(db):
    write(5)
    _verify()
    tamper("UPDATE audit_accessevent SET purpose = %s WHERE seq = %s", ["hidden", 3])
    # Someone with the database password claims a later, clean verification of #5.
    VerificationRun.objects.create(ok=True, checked=5, message="5 events verified",
                                   last_seq=5, last_hash=AccessEvent.objects.get(seq=5).hash,
                                   key_id="0" * 16, signature="00" * 64)
    assert integrity.last_verified().signature != "00" * 64
    # The genuine run still stands, so tampering at #3 waits for the full run ...
    assert "0 events verified" in _verify()
    # ... which finds it.
    assert "#3" in _broken("--full")


def test_runs_that_found_the_chain_broken_are_never_a_starting_point(db):
    write(4)
    tamper("UPDATE audit_accessevent SET purpose = %s WHERE seq = %s", ["hidden", 2])
    _broken()
    write(1)
    message = _broken()  # no intact run yet: the whole chain again
    assert "#2" in message


def test_the_scheduled_run_is_full_once_a_week(db, monkeypatch):
    write(3)
    integrity.verify_and_record()
    assert VerificationRun.objects.get().full
    integrity.verify_and_record()
    assert not VerificationRun.objects.order_by("-pk").first().full
    later = timezone.now() + dt.timedelta(days=8)  # runs are append-only: time moves instead
    monkeypatch.setattr(integrity.timezone, "now", lambda: later)
    integrity.verify_and_record()
    assert VerificationRun.objects.order_by("-pk").first().full


# -- verification in segments ------------------------------------------------------------


def _segments(start: int, end: int, size: int):
    return [(lo, min(end, lo + size), chain.GENESIS if lo == 0 else None)
            for lo in range(start, end, size)]


def _in_segments(end: int, size: int) -> chain.Verdict:
    return integrity.combine(map(integrity.verify_segment, _segments(0, end, size)))


def test_segments_verify_what_one_pass_verifies(db):
    write(23)
    whole = integrity.verify_chain()
    parts = _in_segments(23, 5)
    assert parts.ok and (parts.checked, parts.last_seq, parts.last_hash) == (
        whole.checked, whole.last_seq, whole.last_hash) == (23, 23, whole.last_hash)


@pytest.mark.parametrize("seq", [3, 5, 6, 11, 23])
def test_segments_find_an_altered_event_anywhere(db, seq):
    write(23)
    tamper("UPDATE audit_accessevent SET action = %s WHERE seq = %s", ["x", seq])
    verdict = _in_segments(23, 5)
    assert not verdict.ok and verdict.first_bad_seq == seq and "altered" in verdict.message


@pytest.mark.parametrize("seq", [5, 6, 12])
def test_segments_find_a_missing_event_also_at_a_boundary(db, seq):
    write(23)
    tamper("DELETE FROM audit_accessevent WHERE seq = %s", [seq])
    verdict = _in_segments(23, 5)
    assert not verdict.ok and verdict.first_bad_seq == seq and "missing" in verdict.message


def test_segments_find_a_recomputed_hash_at_a_boundary(db):
    write(12)
    event = AccessEvent.objects.get(seq=5)
    values = {name: getattr(event, name) for name in chain.FIELDS} | {"outcome": "denied"}
    tamper("UPDATE audit_accessevent SET outcome = %s, hash = %s WHERE seq = %s",
           ["denied", chain.digest(values), 5])
    verdict = _in_segments(12, 5)
    assert not verdict.ok and verdict.first_bad_seq == 6 and "does not link" in verdict.message


@pytest.mark.skipif(connection.vendor != "postgresql", reason="worker processes need "
                    "PostgreSQL (they read committed rows over their own connections)")
@pytest.mark.django_db(transaction=True, databases=["default", "vault"])
def test_worker_processes_verify_the_chain_and_find_tampering(monkeypatch):
    monkeypatch.setattr(integrity, "PARALLEL_MIN", 1)
    write(40)
    verdict = integrity.verify_chain(workers=2)
    assert verdict.ok and verdict.checked == 40 and verdict.last_seq == 40
    tamper("UPDATE audit_accessevent SET purpose = %s WHERE seq = %s", ["hidden", 27])
    verdict = integrity.verify_chain(workers=2)
    assert not verdict.ok and verdict.first_bad_seq == 27
    message = _broken("--full", "--workers", "2")
    assert "#27" in message


def test_an_action_prefix_is_matched_literally_and_in_full(db):
    for action in ("break_glass.open", "breakXglass.open", "client.open", "client.open_for_edit",
                   "client.list", "clientele", "audit.export.csv", "audit.export.jsonl"):
        services.record(actor=None, actor_label="system:test", action=action, outcome="allowed")
    assert selectors.actions_starting_with("client.open") == ["client.open",
                                                              "client.open_for_edit"]
    assert selectors.actions_starting_with("client") == [
        "client.list", "client.open", "client.open_for_edit", "clientele"]
    assert selectors.actions_starting_with("break_") == ["break_glass.open"]  # `_` is no wildcard
    assert selectors.actions_starting_with("%") == []
    assert selectors.actions_starting_with("zzz") == []
    shown = [e.action for e in selectors.page(selectors.filtered({"action": "audit.export"}),
                                              None)[0]]
    assert shown == ["audit.export.jsonl", "audit.export.csv"]  # newest first
    assert list(selectors.filtered({"action": "nothing"})) == []
